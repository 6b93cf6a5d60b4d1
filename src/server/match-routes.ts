/**
 * The match protocol's HTTP surface (spec/match.md §HTTP):
 *
 *   GET  /federation/v1/match/filters/:agreement          the responder's signed filter
 *   POST /federation/v1/match/evaluations                 one online POPRF evaluation (budgeted)
 *   POST /federation/v1/match/psi                         one DH-PSI session (budgeted)
 *   POST /federation/v1/match/requests                    a sealed follow-up request after a hit
 *   POST /federation/v1/match/requests/:id/decision       the responder's decision, to the requester
 *
 * Every federation route is a standard peer route: the root hook of peer-auth.ts authenticates
 * the calling partner by its RFC 9421 signature (durable nonces); these routes sign their 2xx
 * answers back. The node's own API (bearer token, registered inside `/api/v1`):
 *
 *   POST /api/v1/match/queries | /api/v1/match/psi
 *   GET  /api/v1/match/requests[?direction&status&limit] | /api/v1/match/requests/:id
 *   POST /api/v1/match/requests | /api/v1/match/requests/:id/approve | .../refuse
 *
 * Approving or refusing a follow-up request also needs an officer's own token in the
 * `Accord-Officer-Token` header: the officer and the role that decide come from it (app/officers.ts).
 */
import type { KeyObject } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AccordError } from "../errors.js";
import type { DecisionInput, MatchService } from "../app/match.js";
import type { Clock, Store } from "../app/ports.js";
import { signJson } from "../crypto/sign.js";
import { MATCH_PREFIX, responseSigningPayload } from "../federation/match-client.js";
import { authenticatedPeer, peerRequestOf } from "./peer-auth.js";

export interface MatchServerOptions {
  readonly service: MatchService;
  readonly nodeId: string;
  readonly signingKey: KeyObject;
  readonly store: Store;
  readonly clock: Clock;
}

export function registerMatchFederation(app: FastifyInstance, o: MatchServerOptions): void {
  void app.register(
    (fed, _opts, done) => {
      // Requests are authenticated by the root RFC 9421 hook (peer-auth.ts); 2xx answers are
      // signed back, bound to the request's signature nonce.
      fed.addHook("onSend", async (req, reply, payload) => {
        const a = peerRequestOf(req);
        if (a === undefined || reply.statusCode >= 300 || typeof payload !== "string")
          return payload;
        void reply.header(
          "accord-signature",
          await signJson(
            responseSigningPayload({
              responder: o.nodeId,
              requester: a.nodeId,
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
        return o.service.publishFilter(authenticatedPeer(req), agreement);
      });
      fed.post("/evaluations", async (req) => o.service.evaluate(authenticatedPeer(req), req.body));
      fed.post("/psi", async (req) => o.service.psiRespond(authenticatedPeer(req), req.body));
      fed.post("/requests", async (req, reply) =>
        reply.code(201).send(await o.service.receiveRequest(authenticatedPeer(req), req.body)),
      );
      fed.post("/requests/:id/decision", async (req) => {
        const { id } = req.params as { id: string };
        const body = req.body as Record<string, unknown> | null;
        if (body?.id !== id)
          throw new AccordError("ERR_BAD_REQUEST", "the decision names another request");
        return o.service.receiveDecision(authenticatedPeer(req), body);
      });
      done();
    },
    { prefix: MATCH_PREFIX },
  );
}

const name = { type: "string", minLength: 1, maxLength: 64 } as const;

/** The header an officer's own token travels in (lower case, as Node presents headers). */
export const OFFICER_TOKEN_HEADER = "accord-officer-token";

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
        // Not accepted: named here only to refuse them with a clear message (below).
        officer: { type: "string" },
        role: { type: "string" },
        reasons: {
          type: "array",
          maxItems: 20,
          items: { type: "string", minLength: 1, maxLength: 2000 },
        },
      },
    }) as const;
  /** The officer's own token and the reasons; a role or name in the body is refused. */
  const decisionOf = (req: FastifyRequest): DecisionInput => {
    const b = (req.body ?? {}) as { officer?: string; role?: string; reasons?: string[] };
    if (b.officer !== undefined || b.role !== undefined)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the officer and the role come from the officer's own token (header \`${OFFICER_TOKEN_HEADER}\`), not from the body`,
      );
    const h = req.headers[OFFICER_TOKEN_HEADER];
    return {
      token: typeof h === "string" ? h : undefined,
      ...(b.reasons === undefined ? {} : { reasons: b.reasons }),
    };
  };

  api.post("/match/requests/:id/approve", { schema: { body: decisionBody([]) } }, async (req) => {
    const { id } = req.params as { id: string };
    const r = await service.approve(id, decisionOf(req));
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
  });

  api.post(
    "/match/requests/:id/refuse",
    { schema: { body: decisionBody(["reasons"]) } },
    async (req) => {
      const { id } = req.params as { id: string };
      return service.refuse(id, decisionOf(req));
    },
  );
}
