/**
 * The node's HTTP surface (Fastify 5):
 *
 *   GET  /healthz                     liveness; says nothing but "ok"
 *   GET  /.well-known/accord-node     the signed node descriptor (public by design: public keys)
 *   POST /federation/v1/inbox         sealed envelopes from partners (authenticated by the
 *                                     envelope's signature from a known partner key)
 *   /api/v1/...                       the node's own API, bearer-token authenticated
 *
 * One error path: every error becomes an RFC 9457 problem document carrying Accord's stable code
 * (spec/errors.md). Domain code never sees HTTP.
 */
import { timingSafeEqual, createHash, randomBytes, randomUUID } from "node:crypto";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import { AccordError, httpStatusOf, type ErrorDetail } from "../errors.js";
import type { AccordNode } from "../app/node.js";
import type { Clock, Store } from "../app/ports.js";
import { ACTIONS, type Action } from "../core/policy/decide.js";
import {
  DESCRIPTOR_PATH,
  ENVELOPE_MEDIA_TYPE,
  INBOX_PATH,
} from "../federation/http-peer-client.js";
import {
  registerMatchApi,
  registerMatchFederation,
  type MatchServerOptions,
} from "./match-routes.js";
import { registerTaxii } from "./taxii.js";
import { registerRecallApi, registerRecallFederation } from "./recall-routes.js";
import type { RecallService } from "../app/recall.js";
import { assertEnvelopeFromSigner, envelopeBody, registerPeerAuth } from "./peer-auth.js";
import { registerAgreementApi, registerAgreementFederation } from "./agreement-routes.js";
import { registerOutboxApi } from "./outbox-routes.js";
import {
  registerCosignatureFederation,
  registerLogDigestApi,
  registerLogRoutes,
  registerWitnessApi,
} from "./log-routes.js";
import type { LogDigests } from "../core/log-digest.js";
import type { OfficerDirectory } from "../app/officers.js";
import type { WitnessService } from "../app/witness.js";
import type { CosignatureBook } from "../app/cosignatures.js";
import type { KeyService } from "../app/key-rotation.js";
import { registerKeyApi, registerKeyFederation } from "./key-routes.js";
import { registerTaxiiPullApi } from "./taxii-pull-routes.js";
import { getObject, listObjects } from "../app/object-reads.js";

export interface ServerOptions {
  readonly node: AccordNode;
  readonly store: Store;
  /** The bearer token the node's own API requires. */
  readonly apiToken: string;
  /** Largest request body accepted, in bytes. */
  readonly bodyLimit: number;
  /** A pino logger, or undefined for no request logging. */
  readonly logger?: FastifyBaseLogger;
  /**
   * Run a delivery pass now, joining one already running (the composition root's loop). Called
   * after every share so delivery starts at once; without it, `node.deliverDue()` is used.
   */
  readonly deliver?: () => Promise<void>;
  /**
   * The clock of the server's use cases: peer request signatures, TAXII (date added, statuses,
   * decisions on partner collections) and pulls. The node's own clock by default.
   */
  readonly clock?: Clock;
  /** Hit/no-hit matching (spec/match.md); without it the match routes do not exist. */
  readonly match?: MatchServerOptions;
  /** Recall, correction and retention (spec/recall.md); without it those routes do not exist. */
  readonly recalls?: RecallService;
  /** Witnessing partners' logs (spec/log.md, "Witnesses"); routes under /api/v1/log/witness. */
  readonly witness?: WitnessService;
  /** Witnesses' cosignatures of this node's checkpoints: received, and served with them. */
  readonly cosignatures?: CosignatureBook;
  /** Key rotation (spec/federation.md, "Key rotation"); routes under /api/v1/keys and /federation/v1/keys. */
  readonly keys?: KeyService;
  /**
   * The node's keyed log digests and its officers (spec/log.md, "Keyed digests"): routes under
   * /api/v1/log/digest and /api/v1/log/officers, and `/api/v1/ledger` names the officers whose
   * pseudonyms a page carries. Without it those routes do not exist.
   */
  readonly logDigests?: { readonly digests: LogDigests; readonly officers: OfficerDirectory };
}

const PROBLEM = "application/problem+json";

export function buildServer(opts: ServerOptions): FastifyInstance {
  const app = Fastify({
    bodyLimit: opts.bodyLimit,
    ...(opts.logger === undefined ? { logger: false } : { loggerInstance: opts.logger }),
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  const { node, store } = opts;
  const clock = opts.clock ?? node.clock;
  const deliver = async (): Promise<void> => {
    if (opts.deliver !== undefined) await opts.deliver();
    else await node.deliverDue();
  };

  // A compact envelope is ASCII and megabytes: kept as the bytes read, never made a string
  // (src/crypto/envelope.ts reads it in place; `envelopeBody` in ./peer-auth.ts hands it out).
  app.addContentTypeParser(ENVELOPE_MEDIA_TYPE, { parseAs: "buffer" }, (_req, body, done) => {
    done(null, body);
  });
  app.addContentTypeParser(
    ["application/yaml", "text/yaml"],
    { parseAs: "string" },
    (_req, body, done) => {
      done(null, body);
    },
  );
  app.addContentTypeParser("application/stix+json", { parseAs: "string" }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch {
      done(new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON"), undefined);
    }
  });

  // Every /federation/v1/* request: RFC 9421 signature by a partner, fresh nonce, body digest.
  registerPeerAuth(app, {
    store,
    clock,
    witnesses: opts.cosignatures?.oversightWitnesses() ?? [],
  });

  app.setErrorHandler((err: FastifyError | AccordError, req, reply) =>
    sendProblem(err, req, reply),
  );
  app.setNotFoundHandler((req, reply) =>
    sendProblem(
      new AccordError("ERR_NOT_FOUND", `no route \`${req.method} ${req.url.split("?")[0] ?? ""}\``),
      req,
      reply,
    ),
  );

  app.get("/healthz", () => ({ status: "ok" }));
  registerTaxii(app, { node, store, apiToken: opts.apiToken, bodyLimit: opts.bodyLimit, clock });
  app.get(DESCRIPTOR_PATH, async () => node.descriptor());

  app.post(INBOX_PATH, async (req, reply) => {
    const { envelope, ...digest } = envelopeBody(req, "inbox");
    assertEnvelopeFromSigner(req, envelope);
    // The body is this request's alone: the envelope may be opened over it.
    const result = await node.receive(envelope, { ...digest, overwrite: true });
    return reply.code(200).send({
      receipt: result.receipt,
      duplicate: result.duplicate,
      accepted: result.claims.accepted,
      rejected: result.claims.rejected,
    });
  });

  if (opts.match !== undefined) registerMatchFederation(app, opts.match);
  if (opts.recalls !== undefined) registerRecallFederation(app, opts.recalls);
  registerAgreementFederation(app, node);
  const cosignatures = opts.cosignatures;
  registerLogRoutes(app, "/federation/v1/log", {
    node,
    store,
    ...(cosignatures && { cosignatures }),
  });
  if (cosignatures !== undefined) registerCosignatureFederation(app, cosignatures);
  if (opts.keys !== undefined) registerKeyFederation(app, opts.keys);

  // ------------------------------------------------------------ the node's own API
  void app.register(
    (api, _o, done) => {
      const expected = createHash("sha256").update(opts.apiToken).digest();
      api.addHook("onRequest", (req, _reply, next) => {
        const h = req.headers.authorization;
        const given = typeof h === "string" && h.startsWith("Bearer ") ? h.slice(7) : "";
        if (!timingSafeEqual(createHash("sha256").update(given).digest(), expected)) {
          next(new AccordError("ERR_UNAUTHENTICATED", "a valid bearer token is required"));
          return;
        }
        next();
      });

      api.get("/node", async () => ({
        id: node.id,
        fingerprint: node.fingerprint(),
        store: store.kind,
        objects: await store.objects.count(),
        ledger: await store.ledger.size(),
        peers: (await store.peers.list()).map((p) => p.nodeId),
        agreements: node
          .listAgreements()
          .map((a) => ({ id: a.id, version: a.version, hash: a.hash })),
      }));

      api.post("/bundles", async (req, reply) => reply.code(201).send(await node.ingest(req.body)));

      api.get("/objects", async (req) => {
        const q = req.query as Record<string, string | undefined>;
        return listObjects(
          { store, clock },
          {
            limit: boundedInt(q.limit, 100, 1, 1000, "limit"),
            ...(q.type === undefined ? {} : { type: q.type }),
            ...(q.after === undefined ? {} : { afterId: q.after }),
          },
        );
      });

      api.get("/objects/:id", async (req) => {
        const { id } = req.params as { id: string };
        const found = await getObject({ store, clock }, id);
        if (found === undefined)
          throw new AccordError("ERR_NOT_FOUND", `no object \`${id}\` is stored here`);
        return found;
      });

      api.post(
        "/shares",
        {
          schema: {
            body: {
              type: "object",
              additionalProperties: false,
              required: ["recipients", "purpose"],
              properties: {
                recipients: {
                  type: "array",
                  minItems: 1,
                  maxItems: 100,
                  items: { type: "string", minLength: 1, maxLength: 64 },
                },
                purpose: { type: "string", minLength: 1, maxLength: 64 },
                agreement: { type: "string", minLength: 1, maxLength: 64 },
                objects: {
                  type: "array",
                  maxItems: 100_000,
                  items: { type: "string", minLength: 1, maxLength: 300 },
                },
              },
            },
          },
        },
        async (req) => {
          const b = req.body as {
            recipients: string[];
            purpose: string;
            agreement?: string;
            objects?: string[];
          };
          // Each committed chunk travels while the next is prepared; the pass sends the rest.
          const outcomes = await node.share(
            {
              recipients: b.recipients,
              purpose: b.purpose,
              ...(b.agreement === undefined ? {} : { agreementId: b.agreement }),
              ...(b.objects === undefined ? {} : { objectIds: b.objects }),
            },
            { deliver: true },
          );
          void deliver();
          return { outcomes };
        },
      );

      api.post("/deliveries", async () => {
        await deliver();
        return { pending: (await store.outbox.list({ status: "pending", limit: 1000 })).length };
      });

      registerOutboxApi(api, {
        node,
        store,
        clock,
      });
      api.get("/outbox/:id", async (req) => {
        const { id } = req.params as { id: string };
        const item = await store.outbox.get(id);
        if (item === undefined) throw new AccordError("ERR_NOT_FOUND", `no outbox item \`${id}\``);
        const { envelope: _e, ...rest } = item;
        return rest;
      });

      api.get("/outbox", async (req) => {
        const q = req.query as Record<string, string | undefined>;
        const status = q.status;
        if (
          status !== undefined &&
          status !== "pending" &&
          status !== "delivered" &&
          status !== "cancelled"
        )
          throw new AccordError(
            "ERR_BAD_REQUEST",
            `\`status\` must be pending, delivered or cancelled, not \`${status}\``,
          );
        const items = await store.outbox.list({
          limit: boundedInt(q.limit, 100, 1, 1000, "limit"),
          ...(status === undefined ? {} : { status }),
        });
        return { items: items.map(({ envelope: _e, ...rest }) => rest) };
      });

      api.get("/ledger", async (req) => {
        const q = req.query as Record<string, string | undefined>;
        const from = boundedInt(q.from, 0, 0, Number.MAX_SAFE_INTEGER, "from");
        const entries = await store.ledger.list(from, boundedInt(q.limit, 100, 1, 1000, "limit"));
        // The node's own audit reads names where the log (which partners read too) has only
        // pseudonyms; the entries themselves are served exactly as logged.
        const officers: Record<string, string> = {};
        const directory = opts.logDigests?.officers;
        if (directory !== undefined)
          for (const e of entries) {
            const p = e.data.officerPseudonym;
            const name = typeof p === "string" ? directory.resolve(p) : undefined;
            if (typeof p === "string" && name !== undefined) officers[p] = name;
          }
        return { entries, size: await store.ledger.size(), officers };
      });

      api.get("/peers", async () => ({ peers: await store.peers.list() }));
      api.post(
        "/peers",
        {
          schema: {
            body: {
              type: "object",
              additionalProperties: false,
              required: ["url"],
              properties: {
                url: { type: "string", minLength: 1, maxLength: 2048 },
                fingerprint: { type: "string", minLength: 43, maxLength: 43 },
              },
            },
          },
        },
        async (req, reply) => {
          const b = req.body as { url: string; fingerprint?: string };
          return reply.code(201).send(await node.addPeer(b.url, b.fingerprint));
        },
      );

      api.get("/agreements", () => ({
        agreements: node.listAgreements().map((a) => ({
          id: a.id,
          version: a.version,
          hash: a.hash,
          title: a.doc.title,
          sunset: a.doc.sunset,
        })),
      }));
      api.post("/agreements", async (req, reply) => {
        if (typeof req.body !== "string")
          throw new AccordError(
            "ERR_UNSUPPORTED_MEDIA_TYPE",
            "send the agreement as `application/yaml`",
          );
        const { agreement, added } = await node.addAgreement(req.body, "request body");
        return reply
          .code(added ? 201 : 200)
          .send({ id: agreement.id, version: agreement.version, hash: agreement.hash, added });
      });

      api.post(
        "/decisions/explain",
        {
          schema: {
            body: {
              type: "object",
              additionalProperties: false,
              required: ["object", "partner", "purpose"],
              properties: {
                object: { type: "object" },
                partner: { type: "string", minLength: 1, maxLength: 64 },
                purpose: { type: "string", minLength: 1, maxLength: 64 },
                agreement: { type: "string", minLength: 1, maxLength: 64 },
                action: { enum: [...ACTIONS] },
              },
            },
          },
        },
        (req) => {
          const b = req.body as {
            object: { id?: unknown; type?: unknown };
            partner: string;
            purpose: string;
            agreement?: string;
            action?: Action;
          };
          if (typeof b.object.id !== "string" || typeof b.object.type !== "string")
            throw new AccordError("ERR_STIX_INVALID", "the object needs a `type` and an `id`");
          return node.explain(b.object as Parameters<AccordNode["explain"]>[0], {
            partner: b.partner,
            purpose: b.purpose,
            ...(b.agreement === undefined ? {} : { agreementId: b.agreement }),
            ...(b.action === undefined ? {} : { action: b.action }),
          });
        },
      );

      // Dry run: who would receive this object, under which clause, with which obligations.
      api.post(
        "/decisions/dry-run",
        {
          schema: {
            body: {
              type: "object",
              additionalProperties: false,
              required: ["object", "purpose"],
              properties: {
                object: { type: "object" },
                purpose: { type: "string", minLength: 1, maxLength: 64 },
                action: { enum: [...ACTIONS] },
              },
            },
          },
        },
        (req) => {
          const b = req.body as {
            object: { id?: unknown; type?: unknown };
            purpose: string;
            action?: Action;
          };
          if (typeof b.object.id !== "string" || typeof b.object.type !== "string")
            throw new AccordError("ERR_STIX_INVALID", "the object needs a `type` and an `id`");
          return {
            recipients: node.dryRun(
              b.object as Parameters<AccordNode["dryRun"]>[0],
              b.purpose,
              b.action,
            ),
          };
        },
      );
      if (opts.match !== undefined) registerMatchApi(api, opts.match.service);
      if (opts.recalls !== undefined) registerRecallApi(api, opts.recalls);
      registerAgreementApi(api, node);
      registerLogRoutes(api, "/log", { node, store, ...(cosignatures && { cosignatures }) });
      if (opts.witness !== undefined) registerWitnessApi(api, "/log", opts.witness);
      if (opts.logDigests !== undefined)
        registerLogDigestApi(api, "/log", { ...opts.logDigests, store, clock });
      if (opts.keys !== undefined) registerKeyApi(api, { keys: opts.keys, store, deliver });
      registerTaxiiPullApi(api, {
        node,
        store,
        clock,
        random: { bytes: (n) => new Uint8Array(randomBytes(n)), uuid: () => randomUUID() },
      });
      done();
    },
    { prefix: "/api/v1" },
  );

  return app;
}

function boundedInt(
  raw: string | undefined,
  dflt: number,
  min: number,
  max: number,
  name: string,
): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`${name}\` must be an integer from ${min} to ${max}`,
    );
  return n;
}

/** The one path from a thrown error to an HTTP response: RFC 9457 problem+json with Accord's code. */
function sendProblem(
  err: FastifyError | AccordError,
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const e = toAccordError(err);
  const status = httpStatusOf(e.code);
  if (status >= 500)
    req.log.error(
      { code: e.code, err: err instanceof AccordError ? undefined : err },
      "request failed",
    );
  const details: readonly ErrorDetail[] = e.details;
  if (e.retryAt !== undefined)
    void reply.header(
      "retry-after",
      String(Math.max(0, Math.ceil((Date.parse(e.retryAt) - Date.now()) / 1000))),
    );
  return reply
    .code(status)
    .type(PROBLEM)
    .send({
      type: `https://accord.invalid/errors/${e.code}`,
      title: e.code,
      status,
      code: e.code,
      detail:
        status >= 500 && !(err instanceof AccordError) ? "an internal error occurred" : e.message,
      ...(details.length > 0 ? { errors: details } : {}),
      ...(e.retryAt === undefined ? {} : { retry_at: e.retryAt }),
    });
}

function toAccordError(err: FastifyError | AccordError): AccordError {
  if (err instanceof AccordError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AccordError("ERR_BODY_TOO_LARGE", "the body is larger than this node accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AccordError("ERR_UNSUPPORTED_MEDIA_TYPE", "the content type is not accepted here");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AccordError("ERR_MALFORMED_INPUT", "the body is empty");
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON");
    case "FST_ERR_VALIDATION":
      return new AccordError("ERR_BAD_REQUEST", `the request is invalid: ${err.message}`);
    default:
      if (err instanceof SyntaxError || (err.statusCode === 400 && /JSON/i.test(err.message)))
        return new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON");
      if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500)
        return new AccordError("ERR_BAD_REQUEST", err.message);
      return new AccordError("ERR_INTERNAL", "an internal error occurred", { cause: err });
  }
}
