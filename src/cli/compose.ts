/**
 * The composition root: config -> adapters -> app -> server. The only place adapters are built.
 */
import { readdirSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import pino from "pino";
import type { FastifyInstance } from "fastify";
import { AccordNode } from "../app/node.js";
import type { Clock, Random, Store } from "../app/ports.js";
import { HttpPeerClient } from "../federation/http-peer-client.js";
import { sweepSunsets } from "../app/outbox-ops.js";
import { buildServer } from "../server/http.js";
import { openSqliteStore } from "../storage/sqlite/index.js";
import { openPostgresStore } from "../storage/postgres/index.js";
import type { NodeConfig } from "./config.js";
import { loadApiToken, loadNodeKeys } from "./secrets.js";
import { MatchService } from "../app/match.js";
import { OfficerDirectory } from "../app/officers.js";
import { PsiPool } from "../compute/index.js";
import { HttpMatchClient } from "../federation/match-client.js";
import { loadOrCreateMatchSecret } from "./match-secret.js";
import { loadOrCreateLogDigests } from "./log-digest-secret.js";
import { startRistrettoBackend } from "./ristretto-backend.js";
import { loadMinimizationSetup } from "./profiles.js";
import { RecallService } from "../app/recall.js";
import { WitnessService } from "../app/witness.js";
import { CosignatureBook, parseOversightWitnesses } from "../app/cosignatures.js";
import { HttpLogClient } from "../federation/log-client.js";
import { HttpRecallClient } from "../federation/recall-client.js";
import { HttpAgreementExchange } from "../federation/agreement-exchange.js";
import { NodeKeyRing } from "../app/keyring.js";
import { KeyService, partnerSigningKey } from "../app/key-rotation.js";
import { HttpKeyAnnouncementClient } from "../federation/key-client.js";
import { fileKeyVault } from "./key-files.js";

export const systemClock: Clock = { now: () => new Date() };
export const systemRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
  uuid: () => randomUUID(),
};

export interface RunningNode {
  readonly config: NodeConfig;
  readonly node: AccordNode;
  readonly store: Store;
  readonly server: FastifyInstance;
  readonly url: string;
  readonly apiToken: string;
  /** Hit/no-hit matching and follow-up requests (spec/match.md). */
  readonly match: MatchService;
  /** Recall, correction and retention (spec/recall.md). */
  readonly recalls: RecallService;
  /** Key rotation, retirement and revocation (spec/federation.md, "Key rotation"). */
  readonly keys: KeyService;
  /** Run a delivery pass now (and again whenever one is already running). */
  deliverNow(): Promise<void>;
  /** Witness every partner's log now (joining a pass already running). */
  witnessNow(): Promise<void>;
  stop(): Promise<void>;
}

export function openStore(config: NodeConfig): Promise<Store> {
  if (config.storage.driver === "postgres")
    return openPostgresStore({
      connectionString: config.storage.url,
      schema: config.storage.schema,
    });
  if (config.storage.path !== ":memory:")
    mkdirSync(dirname(config.storage.path), { recursive: true, mode: 0o700 });
  return openSqliteStore({ path: config.storage.path, writerThread: config.storage.writerThread });
}

export function makeLogger(config: NodeConfig): pino.Logger {
  const options: pino.LoggerOptions = {
    level: config.logLevel,
    base: { node: config.nodeId },
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'req.headers["accord-officer-token"]',
      ],
      censor: "[redacted]",
    },
  };
  return config.logFile === undefined
    ? pino(options)
    : pino(options, pino.destination({ dest: config.logFile, mkdir: true, sync: false }));
}

export interface StartOptions {
  readonly clock?: Clock;
  readonly logger?: pino.Logger;
  /** Run the background delivery loop (default true). */
  readonly deliveryLoop?: boolean;
  /** Witness partners' logs every `witness.interval_ms` (default true; 0 in the config is off). */
  readonly witnessLoop?: boolean;
}

export async function startNode(config: NodeConfig, opts: StartOptions = {}): Promise<RunningNode> {
  const logger = opts.logger ?? makeLogger(config);
  // The keys as they change at run time: every service reads the current pair when it signs.
  const keys = new NodeKeyRing(loadNodeKeys(config.keysFile));
  const signer = keys.signer;
  const apiToken = loadApiToken(config.apiTokenFile);
  const matchSecret = loadOrCreateMatchSecret(config.keysFile);
  // Keyed digests and officer pseudonyms for the log (spec/log.md "Keyed digests"); a node made
  // before they existed gets its secret here, on its first start after the upgrade.
  const logDigests = loadOrCreateLogDigests(config.keysFile);
  const officers = new OfficerDirectory(config.officers, logDigests);
  await startRistrettoBackend(process.env, logger);
  const minimization = loadMinimizationSetup(config);
  const store = await openStore(config);
  let url = config.publicUrl;
  const node = new AccordNode({
    nodeId: config.nodeId,
    name: config.name,
    publicUrl: () => url,
    keys,
    store,
    clock: opts.clock ?? systemClock,
    random: systemRandom,
    peerClient: new HttpPeerClient({
      signer,
      now: () => (opts.clock ?? systemClock).now().getTime() / 1000,
    }),
    logger,
    minimization,
    agreementExchange: new HttpAgreementExchange({
      signer,
    }),
    describeKeys: () => keyService.descriptorKeys(),
  });
  const keyService = new KeyService({
    nodeId: config.nodeId,
    ring: keys,
    store,
    clock: opts.clock ?? systemClock,
    random: systemRandom,
    vault: fileKeyVault(config.keysFile),
    transport: new HttpKeyAnnouncementClient({
      now: () => (opts.clock ?? systemClock).now().getTime() / 1000,
    }),
    logger,
  });
  try {
    await keyService.init();
    await node.init();
    for (const file of agreementFiles(config.agreementsDir))
      await node.addAgreement(readFileSync(file, "utf8"), file);
  } catch (e) {
    await store.close();
    throw e;
  }

  const recalls = new RecallService({
    node,
    keys,
    store,
    clock: opts.clock ?? systemClock,
    random: systemRandom,
    logger,
    logDigests,
    transport: new HttpRecallClient({
      signer,
      now: () => (opts.clock ?? systemClock).now().getTime() / 1000,
    }),
  });

  // Delivery: a background pass every interval, and at once after each share.
  let running: Promise<void> | undefined;
  let again = false;
  /** Set by `stop`: no pass starts from then on (a request still being answered may ask). */
  const life = { stopping: false };
  const deliverNow = (): Promise<void> => {
    if (life.stopping) return running ?? Promise.resolve();
    if (running !== undefined) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await sweepSunsets({
            store,
            clock: opts.clock ?? systemClock,
            agreements: node.listAgreements(),
          });
          // Key announcements first: a partner must know a new key before it sees it used.
          await keyService.sweep();
          if ((await keyService.deliverDue()).attempted === 1000) again = true;
          const r = await node.deliverDue();
          if (r.attempted === 50 || r.expedited > 0) again = true;
          // Recall notices and reports; then the retention purge (spec/recall.md).
          if ((await recalls.deliverDue()).attempted === 50) again = true;
          await recalls.purgeExpired();
          // Signature exchanges a partner missed (spec/agreement.md "Signature exchange").
          if ((await node.agreementBook.retryExchanges()) === 20) again = true;
          // Consents not yet acknowledged by their holders (spec/agreement.md).
          if ((await node.agreementBook.retryConsentPushes()) === 20) again = true;
        } catch (e) {
          logger.error({ err: e }, "delivery pass failed");
        }
      } while (again && !life.stopping);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  // PSI's group arithmetic runs on worker threads (one per core), started on first use.
  let psiPool: Promise<PsiPool> | undefined;
  const startPsiPool = (): Promise<PsiPool> =>
    (psiPool ??= PsiPool.start().catch((e: unknown) => {
      psiPool = undefined;
      throw e;
    }));
  const match = new MatchService({
    nodeId: config.nodeId,
    keys,
    store,
    clock: opts.clock ?? systemClock,
    random: systemRandom,
    logger,
    node,
    transport: new HttpMatchClient({
      nodeId: config.nodeId,
      signer,
      now: () => (opts.clock ?? systemClock).now().getTime() / 1000,
      // As pinned now (the peer may have rotated since the request was sent).
      peerKey: async (peer, kid) =>
        partnerSigningKey(
          store,
          (await store.peers.get(peer.nodeId)) ?? peer,
          kid,
          (opts.clock ?? systemClock).now(),
        ),
    }),
    matchSecret,
    deliver: deliverNow,
    officers,
    logDigests,
    psiPool: startPsiPool,
  });
  const witness = new WitnessService({
    nodeId: config.nodeId,
    get signingKey() {
      return keys.signing.privateKey;
    },
    store,
    clock: opts.clock ?? systemClock,
    client: new HttpLogClient({
      signer,
    }),
    logger,
  });
  // Witnessing (spec/log.md, "Witnesses"): a background pass over every partner's log; one at a
  // time, a pass asked for while one runs joins it.
  let witnessing: Promise<void> | undefined;
  const witnessNow = (): Promise<void> =>
    (witnessing ??= witness
      .observeAll()
      .then(
        () => undefined,
        (e: unknown) => {
          logger.error({ err: e }, "witness pass failed");
        },
      )
      .finally(() => {
        witnessing = undefined;
      }));
  const server = buildServer({
    node,
    store,
    apiToken,
    bodyLimit: config.bodyLimit,
    logger,
    deliver: deliverNow,
    clock: opts.clock ?? systemClock,
    recalls,
    keys: keyService,
    witness,
    cosignatures: new CosignatureBook({
      nodeId: config.nodeId,
      store,
      clock: opts.clock ?? systemClock,
      oversight: parseOversightWitnesses(config.oversightWitnesses),
    }),
    logDigests: { digests: logDigests, officers },
    match: {
      service: match,
      nodeId: config.nodeId,
      get signingKey() {
        return keys.signing.privateKey;
      },
      store,
      clock: opts.clock ?? systemClock,
    },
  });
  try {
    await server.listen({ host: config.host, port: config.port });
  } catch (e) {
    await store.close();
    throw e;
  }
  const address = server.server.address();
  if (config.port === 0 && address !== null && typeof address === "object")
    url = `http://${config.host}:${address.port}`;
  const timer =
    opts.deliveryLoop === false
      ? undefined
      : setInterval(() => void deliverNow(), config.deliveryIntervalMs);
  timer?.unref();
  const witnessTimer =
    opts.witnessLoop === false || config.witnessIntervalMs === 0
      ? undefined
      : setInterval(() => void witnessNow(), config.witnessIntervalMs);
  witnessTimer?.unref();

  return {
    config,
    node,
    store,
    server,
    get url() {
      return url;
    },
    apiToken,
    match,
    recalls,
    keys: keyService,
    deliverNow,
    witnessNow,
    async stop() {
      life.stopping = true;
      if (timer !== undefined) clearInterval(timer);
      if (witnessTimer !== undefined) clearInterval(witnessTimer);
      await server.close();
      // Shares still being answered and their deliveries in flight, even when the share failed
      // part-way: the store is closed after them (what was not delivered stays pending).
      await node.stop();
      if (running !== undefined) await running;
      if (witnessing !== undefined) await witnessing;
      await (await psiPool?.catch(() => undefined))?.close();
      await store.close();
    },
  };
}

function agreementFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}
