/**
 * The match protocol's HTTP surface (spec/match.md §HTTP):
 *
 *   GET  /federation/v1/match/filters/:agreement          the responder's signed filter
 *   POST /federation/v1/match/evaluations                 one online POPRF evaluation (budgeted)
 *   POST /federation/v1/match/psi                         one DH-PSI session (budgeted)
 *   POST /federation/v1/match/requests                    a sealed follow-up request after a hit
 *   POST /federation/v1/match/requests/:id/decision       the responder's decision, to the requester
 *
 * Every federation route authenticates the calling node by its signed request (a known partner's
 * Ed25519 key; fresh `created`; a nonce never seen within the skew window) and signs its 2xx
 * answers. The node's own API (bearer token, registered inside `/api/v1`):
 *
 *   POST /api/v1/match/queries | /api/v1/match/psi
 *   GET  /api/v1/match/requests[?direction&status&limit] | /api/v1/match/requests/:id
 *   POST /api/v1/match/requests | /api/v1/match/requests/:id/approve | .../refuse
 */
import type { KeyObject } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AccordError } from "../errors.js";
import type { MatchService } from "../app/match.js";
import type { Clock, Store } from "../app/ports.js";
import { parsePublicJwk } from "../crypto/keys.js";
import { signJson, verifyJson } from "../crypto/sign.js";
import {
  MATCH_PREFIX,
  MAX_CLOCK_SKEW_SECONDS,
  requestSigningPayload,
  responseSigningPayload,
} from "../federation/match-client.js";

export interface MatchServerOptions {
  readonly service: MatchService;
  readonly nodeId: string;
  readonly signingKey: KeyObject;
  readonly store: Store;
  readonly clock: Clock;
}

interface Authenticated {
  readonly partner: string;
  readonly nonce: string;
}

const authenticated = new WeakMap<FastifyRequest, Authenticated>();

/** The partner that signed this request (set by the federation hook). */
function partnerOf(req: FastifyRequest): string {
  const a = authenticated.get(req);
  if (a === undefined) throw new AccordError("ERR_UNAUTHENTICATED", "the request is not signed");
  return a.partner;
}

export function registerMatchFederation(app: FastifyInstance, o: MatchServerOptions): void {
  const seen = new Map<string, number>();
  void app.register(
    (fed, _opts, done) => {
      // Raw JSON text: the signature covers the body's digest, so the body is kept as sent.
      fed.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, next) => {
        next(null, body);
      });

      fed.addHook("preHandler", async (req) => {
        const h = (name: string): string => {
          const v = req.headers[name];
          return typeof v === "string" ? v : "";
        };
        const sender = h("accord-node");
        const created = Number(h("accord-created"));
        const nonce = h("accord-nonce");
        const signature = h("accord-signature");
        if (sender === "" || signature === "" || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce))
          throw new AccordError("ERR_UNAUTHENTICATED", "the request is not signed by a node");
        const peer = await o.store.peers.get(sender);
        if (peer === undefined)
          throw new AccordError(
            "ERR_UNKNOWN_PARTNER",
            `\`${sender.slice(0, 64)}\` is not a known partner of \`${o.nodeId}\``,
          );
        const now = Math.floor(o.clock.now().getTime() / 1000);
        if (!Number.isSafeInteger(created) || Math.abs(now - created) > MAX_CLOCK_SKEW_SECONDS)
          throw new AccordError(
            "ERR_UNAUTHENTICATED",
            "the request's signature time is outside the accepted window",
          );
        const body = typeof req.body === "string" ? req.body : "";
        const ok = await verifyJson(
          signature,
          requestSigningPayload({
            method: req.method,
            path: req.url,
            sender,
            recipient: o.nodeId,
            created,
            nonce,
            body,
          }),
          parsePublicJwk(peer.signingKey, "Ed25519"),
        );
        if (!ok)
          throw new AccordError(
            "ERR_UNAUTHENTICATED",
            `the request is not signed by \`${sender}\`'s key`,
          );
        const key = `${sender}\n${nonce}`;
        for (const [k, exp] of seen) if (exp < now) seen.delete(k);
        if (seen.has(key))
          throw new AccordError("ERR_REPLAY", "this signed request was already received");
        seen.set(key, now + 2 * MAX_CLOCK_SKEW_SECONDS);
        authenticated.set(req, { partner: sender, nonce });
        if (body !== "") {
          try {
            req.body = JSON.parse(body) as unknown;
          } catch {
            throw new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON");
          }
        }
      });

      fed.addHook("onSend", async (req, reply, payload) => {
        const a = authenticated.get(req);
        if (a === undefined || reply.statusCode >= 300 || typeof payload !== "string")
          return payload;
        void reply.header(
          "accord-signature",
          await signJson(
            responseSigningPayload({
              responder: o.nodeId,
              requester: a.partner,
              nonce: a.nonce,
              status: reply.statusCode,
              body: payload,
            }),
            o.signingKey,
          ),
        );
        return payload;
      });

      fed.get("/filters/:agreement", async (req) => {
        const { agreement } = req.params as { agreement: string };
        return o.service.publishFilter(partnerOf(req), agreement);
      });
      fed.post("/evaluations", async (req) => o.service.evaluate(partnerOf(req), req.body));
      fed.post("/psi", async (req) => o.service.psiRespond(partnerOf(req), req.body));
      fed.post("/requests", async (req, reply) =>
        reply.code(201).send(await o.service.receiveRequest(partnerOf(req), req.body)),
      );
      fed.post("/requests/:id/decision", async (req) => {
        const { id } = req.params as { id: string };
        const body = req.body as Record<string, unknown> | null;
        if (body?.id !== id)
          throw new AccordError("ERR_BAD_REQUEST", "the decision names another request");
        return o.service.receiveDecision(partnerOf(req), body);
      });
      done();
    },
    { prefix: MATCH_PREFIX },
  );
}

const name = { type: "string", minLength: 1, maxLength: 64 } as const;

/** The node's own match API; call inside the bearer-authenticated `/api/v1` plugin. */
export function registerMatchApi(api: FastifyInstance, service: MatchService): void {
  const queryBody = {
    type: "object",
    additionalProperties: false,
    required: ["partner", "agreement", "kind"],
    properties: {
      partner: name,
      agreement: name,
      kind: name,
      purpose: name,
      value: { type: "string", minLength: 1, maxLength: 256 },
      values: {
        type: "array",
        minItems: 1,
        maxItems: 100_000,
        items: { type: "string", minLength: 1, maxLength: 256 },
      },
      mode: { enum: ["intersection", "cardinality"] },
    },
  } as const;
  interface QueryBody {
    partner: string;
    agreement: string;
    kind: string;
    purpose?: string;
    value?: string;
    values?: string[];
    mode?: "intersection" | "cardinality";
  }
  const valuesOf = (b: QueryBody): string[] => {
    const v = b.values ?? (b.value === undefined ? [] : [b.value]);
    if (v.length === 0) throw new AccordError("ERR_BAD_REQUEST", "give `value` or `values`");
    return v;
  };

  api.post("/match/queries", { schema: { body: queryBody } }, async (req) => {
    const b = req.body as QueryBody;
    return service.query({
      partner: b.partner,
      agreementId: b.agreement,
      kind: b.kind,
      values: valuesOf(b),
      ...(b.purpose === undefined ? {} : { purpose: b.purpose }),
    });
  });

  api.post("/match/psi", { schema: { body: queryBody } }, async (req) => {
    const b = req.body as QueryBody;
    return service.psi({
      partner: b.partner,
      agreementId: b.agreement,
      kind: b.kind,
      values: valuesOf(b),
      mode: b.mode ?? "intersection",
      ...(b.purpose === undefined ? {} : { purpose: b.purpose }),
    });
  });

  api.get("/match/requests", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    if (q.direction !== undefined && q.direction !== "incoming" && q.direction !== "outgoing")
      throw new AccordError("ERR_BAD_REQUEST", "`direction` must be incoming or outgoing");
    if (
      q.status !== undefined &&
      q.status !== "pending" &&
      q.status !== "approved" &&
      q.status !== "refused"
    )
      throw new AccordError("ERR_BAD_REQUEST", "`status` must be pending, approved or refused");
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
      throw new AccordError("ERR_BAD_REQUEST", "`limit` must be an integer from 1 to 1000");
    return {
      requests: await service.listRequests({
        limit,
        ...(q.direction === undefined ? {} : { direction: q.direction }),
        ...(q.status === undefined ? {} : { status: q.status }),
      }),
    };
  });

  api.get("/match/requests/:id", async (req) => {
    const { id } = req.params as { id: string };
    return service.getRequest(id);
  });

  api.post(
    "/match/requests",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["query", "value", "legal_basis"],
          properties: {
            query: { type: "string", minLength: 36, maxLength: 36 },
            value: { type: "string", minLength: 1, maxLength: 256 },
            legal_basis: { type: "string", minLength: 1, maxLength: 2000 },
            purpose: name,
            urgency: { enum: ["standard", "urgent"] },
            justification: { type: "string", maxLength: 2000 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as {
        query: string;
        value: string;
        legal_basis: string;
        purpose?: string;
        urgency?: "standard" | "urgent";
        justification?: string;
      };
      return reply.code(201).send(
        await service.fileRequest({
          queryId: b.query,
          value: b.value,
          legalBasis: b.legal_basis,
          ...(b.purpose === undefined ? {} : { purpose: b.purpose }),
          ...(b.urgency === undefined ? {} : { urgency: b.urgency }),
          ...(b.justification === undefined ? {} : { justification: b.justification }),
        }),
      );
    },
  );

  const decisionBody = (required: string[]) =>
    ({
      type: "object",
      additionalProperties: false,
      required,
      properties: {
        officer: { type: "string", minLength: 1, maxLength: 200 },
        role: name,
        reasons: {
          type: "array",
          maxItems: 20,
          items: { type: "string", minLength: 1, maxLength: 2000 },
        },
      },
    }) as const;

  api.post(
    "/match/requests/:id/approve",
    { schema: { body: decisionBody(["officer", "role"]) } },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { officer: string; role: string; reasons?: string[] };
      const r = await service.approve(id, {
        officer: b.officer,
        role: b.role,
        ...(b.reasons === undefined ? {} : { reasons: b.reasons }),
      });
      return {
        request: r.request,
        released: r.share?.verdicts
          .filter((v) => v.effect === "permit")
          .map((v) => ({ id: v.id, dropped: v.dropped })),
        refused: r.share?.verdicts
          .filter((v) => v.effect === "deny")
          .map((v) => ({ id: v.id, reasons: v.reasons.map((x) => x.message) })),
        envelopes: r.share?.envelopes ?? [],
      };
    },
  );

  api.post(
    "/match/requests/:id/refuse",
    { schema: { body: decisionBody(["officer", "reasons"]) } },
    async (req) => {
      const { id } = req.params as { id: string };
      const b = req.body as { officer: string; role?: string; reasons: string[] };
      return service.refuse(id, {
        officer: b.officer,
        reasons: b.reasons,
        ...(b.role === undefined ? {} : { role: b.role }),
      });
    },
  );
}
