/**
 * The node's transparency log over HTTP (spec/log.md, "HTTP"): C2SP tlog-tiles under a prefix,
 * plus proofs. The same routes are mounted twice (spec/log.md, "Who may read the log"):
 *
 *   /api/v1/log/...         the operator and oversight bodies, with a bearer token (the API's hook)
 *   /federation/v1/log/...  partners, with RFC 9421 signed requests (src/server/peer-auth.ts)
 *
 *   GET <prefix>/checkpoint                  the latest signed checkpoint (text/plain; C2SP
 *                                            tlog-checkpoint), signed first when the tree grew,
 *                                            with the witnesses' cosignatures it has (C2SP
 *                                            tlog-cosignature lines appended)
 *   GET <prefix>/checkpoints/cosigned        each witness's largest cosigned checkpoint, with its
 *                                            cosignatures: {checkpoints: [{size, note}]}
 *   POST /federation/v1/log/cosignatures     a witness sends back its cosignature (text/plain
 *                                            signed note; app/cosignatures.ts)
 *   GET <prefix>/tile/<L>/<N>[.p/<W>]        tile hashes (application/octet-stream)
 *   GET <prefix>/tile/entries/<N>[.p/<W>]    entry bundle
 *   GET <prefix>/proof/inclusion?index=I[&size=N]
 *   GET <prefix>/proof/consistency?from=M[&to=N]
 *
 * A tile or bundle is served only at widths the current tree has: a full tile once it is full, a
 * partial one of width W while the tree holds at least W hashes at that level. Full tiles never
 * change and are marked immutable.
 */
import type { FastifyInstance } from "fastify";
import type { AccordNode } from "../app/node.js";
import type { Clock, Store } from "../app/ports.js";
import { proveConsistency, proveInclusion } from "../app/log.js";
import type { WitnessService } from "../app/witness.js";
import type { CosignatureBook } from "../app/cosignatures.js";
import { peerRequestOf } from "./peer-auth.js";
import { AccordError } from "../errors.js";
import { LOG_TEXT_PURPOSES, type LogDigests } from "../core/log-digest.js";
import { budgetWindow } from "../core/budget.js";
import type { OfficerDirectory } from "../app/officers.js";
import { TILE_WIDTH, encodeEntryBundle, parseTilePath, tileWidth } from "../tlog/index.js";

const HASH = 32;
const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

export function registerLogRoutes(
  scope: FastifyInstance,
  prefix: string,
  deps: {
    readonly node: AccordNode;
    readonly store: Store;
    readonly cosignatures?: CosignatureBook;
  },
): void {
  const { node, store, cosignatures } = deps;
  const ledger = store.ledger;

  scope.get(`${prefix}/checkpoint`, async (_req, reply) => {
    const c = await node.checkpoint();
    const note = cosignatures === undefined ? c.note : await cosignatures.withCosignatures(c);
    return reply
      .header("content-type", "text/plain; charset=utf-8")
      .header("cache-control", "no-store")
      .send(note);
  });

  if (cosignatures !== undefined) {
    scope.get(`${prefix}/checkpoints/cosigned`, async (_req, reply) =>
      reply.header("cache-control", "no-store").send({
        checkpoints: await cosignatures.witnessed(),
      }),
    );
  }

  scope.get(`${prefix}/tile/*`, async (req, reply) => {
    const rest = (req.params as Record<string, string | undefined>)["*"] ?? "";
    const tile = parseTilePath(`tile/${rest}`);
    if (tile === undefined) {
      throw new AccordError("ERR_NOT_FOUND", `\`tile/${rest}\` is not a tile path`);
    }
    const { size } = await ledger.state();
    const level = tile.level === "entries" ? 0 : tile.level;
    const have = tileWidth(level, tile.index, size);
    // A full tile (width 256) exists once complete; a partial one of width W once W hashes are in.
    if (have < tile.width) {
      throw new AccordError("ERR_NOT_FOUND", `the log has no tile \`tile/${rest}\` yet`);
    }
    let body: Uint8Array;
    if (tile.level === "entries") {
      const rows = await ledger.entries(tile.index * TILE_WIDTH, tile.width);
      if (rows.length !== tile.width) {
        throw new AccordError("ERR_STORAGE", "the log's entries are incomplete");
      }
      body = encodeEntryBundle(rows.map((r) => r.bytes));
    } else {
      const hashes = await ledger.tile(tile.level, tile.index);
      if (hashes.length < tile.width * HASH) {
        throw new AccordError("ERR_STORAGE", "the log's tiles are incomplete");
      }
      body = hashes.subarray(0, tile.width * HASH);
    }
    return reply
      .header("content-type", "application/octet-stream")
      .header(
        "cache-control",
        tile.width === TILE_WIDTH ? "public, max-age=31536000, immutable" : "no-store",
      )
      .send(Buffer.from(body.buffer, body.byteOffset, body.length));
  });

  scope.get(`${prefix}/proof/inclusion`, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const index = intParam(q.index, "index");
    const size = q.size === undefined ? undefined : intParam(q.size, "size");
    const p = await proveInclusion(ledger, index, size);
    return {
      index: p.index,
      size: p.size,
      leafHash: b64(p.leafHash),
      proof: p.proof.map(b64),
    };
  });

  scope.get(`${prefix}/proof/consistency`, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const from = intParam(q.from, "from");
    const to = q.to === undefined ? undefined : intParam(q.to, "to");
    const p = await proveConsistency(ledger, from, to);
    return { from: p.from, to: p.to, proof: p.proof.map(b64) };
  });
}

function intParam(raw: string | undefined, name: string): number {
  if (
    raw === undefined ||
    !/^(0|[1-9][0-9]{0,15})$/.test(raw) ||
    !Number.isSafeInteger(Number(raw))
  ) {
    throw new AccordError("ERR_BAD_REQUEST", `\`${name}\` must be a non-negative integer`);
  }
  return Number(raw);
}

/**
 * A witness sends back its cosignature of one of this node's checkpoints (spec/log.md,
 * "Witnesses"): a partner node, or an oversight witness whose key is configured (peer-auth.ts
 * accepts such keys on the log's routes only). The body is the cosigned checkpoint note.
 */
export function registerCosignatureFederation(
  app: FastifyInstance,
  cosignatures: CosignatureBook,
): void {
  app.post("/federation/v1/log/cosignatures", { bodyLimit: 64 * 1024 }, async (req) => {
    const who = peerRequestOf(req);
    if (who === undefined) {
      throw new AccordError("ERR_UNAUTHENTICATED", "the request is not signed by a witness");
    }
    if (typeof req.body !== "string") {
      throw new AccordError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        "a cosignature is sent as the cosigned checkpoint, `text/plain`",
      );
    }
    return cosignatures.accept(
      who.oversight === true ? { oversight: who.nodeId } : { partner: who.nodeId },
      req.body,
    );
  });
}

/**
 * Witnessing, for the operator and oversight (inside the bearer-token API scope):
 *   POST <prefix>/witness/:partner   fetch, check and cosign (or refuse) the partner's checkpoint
 *   GET  <prefix>/witness/alarms     every refused checkpoint, with both signed notes as evidence
 */
export function registerWitnessApi(
  api: FastifyInstance,
  prefix: string,
  witness: WitnessService,
): void {
  api.post(`${prefix}/witness/:partner`, async (req) => {
    const { partner } = req.params as { partner: string };
    return witness.observe(partner);
  });
  api.get(`${prefix}/witness/alarms`, async () => ({ alarms: await witness.alarms() }));
}

/**
 * Keyed digests, for the operator and oversight (inside the bearer-token API scope; never under
 * /federation, so a partner cannot test guesses; spec/log.md "Keyed digests"):
 *   POST <prefix>/digest     {purpose, text} → {purpose, value}: the keyed digest a log entry would
 *                            carry for that text (`recall-reason`, `legal-basis`), or the pseudonym
 *                            of an officer of that name (`officer`), to check a claimed text
 *                            against an entry without the key leaving the node
 *   GET  <prefix>/officers   {officers: [{name, pseudonym}]}: the configured officers, so the
 *                            node's own audit resolves the pseudonyms its entries carry
 *
 * Each digest is an answer to a guess, so the route is budgeted and on the record: at most
 * DIGEST_BUDGET answers per UTC minute of the node's clock, the `burst` window match budgets
 * count in (core/budget.ts; DIGEST_WINDOW_MS is its length), then 429
 * ERR_BUDGET_EXHAUSTED with `retry_at`), and each answer is a `log-digest` entry naming only the
 * purpose (never the text, which may be the guess being tested).
 */
export const DIGEST_BUDGET = 60;
export const DIGEST_WINDOW_MS = 60_000;

export function registerLogDigestApi(
  api: FastifyInstance,
  prefix: string,
  deps: {
    readonly digests: LogDigests;
    readonly officers: OfficerDirectory;
    readonly store: Store;
    readonly clock: Clock;
  },
): void {
  const purposes = [...LOG_TEXT_PURPOSES, "officer"] as const;
  let window = "";
  let used = 0;
  api.post(
    `${prefix}/digest`,
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["purpose", "text"],
          properties: {
            purpose: { type: "string", enum: [...purposes] },
            text: { type: "string", maxLength: 2000 },
          },
        },
      },
    },
    async (req) => {
      const { purpose, text } = req.body as { purpose: (typeof purposes)[number]; text: string };
      const now = deps.clock.now();
      const { start, end } = budgetWindow("burst", now.toISOString());
      if (start !== window) {
        window = start;
        used = 0;
      }
      if (used >= DIGEST_BUDGET) {
        throw new AccordError(
          "ERR_BUDGET_EXHAUSTED",
          `at most ${String(DIGEST_BUDGET)} keyed digests per ${String(DIGEST_WINDOW_MS / 1000)} s: each answers a guess`,
          { retryAt: end },
        );
      }
      used++;
      await deps.store.transaction(async (tx) => {
        await tx.ledger.append({ kind: "log-digest", at: now.toISOString(), data: { purpose } });
      });
      req.log.info({ purpose }, "keyed log digest computed");
      return {
        purpose,
        value:
          purpose === "officer" ? deps.digests.officer(text) : deps.digests.text(purpose, text),
      };
    },
  );
  api.get(`${prefix}/officers`, () => ({
    officers: deps.officers.list().map((o) => ({ name: o.name, pseudonym: o.pseudonym })),
  }));
}
