/**
 * Agreement lifecycle routes (spec/agreement.md "Enforcement on a node"):
 *
 *   POST /federation/v1/agreements/signatures   a partner's signed exchange message (the request
 *                                               is RFC 9421-signed like every peer request; the
 *                                               message carries its own JWS by the same partner)
 *   GET  /api/v1/agreements/:id                  state, versions, signatures, who still has to sign
 *   POST /api/v1/agreements/:id/sign             sign (the highest held version, or `version`)
 *   POST /api/v1/agreements/:id/sync             exchange signatures and events with the parties
 *   POST /api/v1/agreements/:id/suspend|resume|terminate
 *   POST /api/v1/consents/grant                  as originator: sign a consent to one onward hop
 *   POST /api/v1/consents                        as holder: verify and keep a consent
 */
import type { FastifyInstance } from "fastify";
import { AccordError } from "../errors.js";
import type { AccordNode } from "../app/node.js";
import { AGREEMENT_EXCHANGE_PATH } from "../federation/agreement-exchange.js";
import { authenticatedPeer } from "./peer-auth.js";

const ID = { type: "string", minLength: 1, maxLength: 64 } as const;

export function registerAgreementFederation(app: FastifyInstance, node: AccordNode): void {
  app.post(AGREEMENT_EXCHANGE_PATH, async (req) => {
    const signer = authenticatedPeer(req);
    const from = (req.body as { from?: unknown } | null)?.from;
    if (from !== signer)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `the message names sender \`${String(from)}\`, but the request is signed by partner \`${signer}\``,
      );
    return node.agreementBook.receive(req.body);
  });
}

export function registerAgreementApi(api: FastifyInstance, node: AccordNode): void {
  const book = node.agreementBook;
  const params = {
    type: "object",
    required: ["id"],
    properties: { id: ID },
  } as const;

  api.get("/agreements/:id", { schema: { params } }, (req) => {
    const { id } = req.params as { id: string };
    return book.view(id);
  });

  const versionBody = {
    type: "object",
    additionalProperties: false,
    properties: { version: { type: "integer", minimum: 1, maximum: 1_000_000 } },
  } as const;

  api.post("/agreements/:id/sign", { schema: { params, body: versionBody } }, async (req) => {
    const { id } = req.params as { id: string };
    const { version } = (req.body ?? {}) as { version?: number };
    return book.sign(id, version);
  });

  api.post("/agreements/:id/sync", { schema: { params, body: versionBody } }, async (req) => {
    const { id } = req.params as { id: string };
    const { version } = (req.body ?? {}) as { version?: number };
    const pushed = await book.sync(id, version);
    return { view: book.view(id), pushed };
  });

  // Consents for onward hops (spec/agreement.md "Consent to an onward hop").
  api.post(
    "/consents/grant",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["object", "holder", "recipient", "agreement", "purpose", "expires"],
          properties: {
            object: { type: "string", minLength: 1, maxLength: 300 },
            holder: ID,
            recipient: ID,
            agreement: ID,
            purpose: ID,
            expires: { type: "string", minLength: 1, maxLength: 64 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as Parameters<typeof book.grantConsent>[0];
      return reply.code(201).send({ consent: await book.grantConsent(b) });
    },
  );
  api.post(
    "/consents",
    { schema: { body: { type: "object", required: ["consent"], properties: { consent: {} } } } },
    async (req, reply) => {
      const r = await book.addConsent((req.body as { consent: unknown }).consent);
      return reply.code(r.added ? 201 : 200).send(r);
    },
  );

  const eventBody = {
    type: "object",
    additionalProperties: false,
    properties: {
      reason: { type: "string", minLength: 1, maxLength: 500 },
      by: { type: "string", minLength: 1, maxLength: 200 },
      party: ID,
    },
  } as const;
  for (const action of ["suspend", "resume", "terminate"] as const)
    api.post(`/agreements/:id/${action}`, { schema: { params, body: eventBody } }, async (req) => {
      const { id } = req.params as { id: string };
      const b = (req.body ?? {}) as { reason?: string; by?: string; party?: string };
      if (action === "terminate" && b.party !== undefined)
        throw new AccordError(
          "ERR_BAD_REQUEST",
          "`terminate` ends the agreement for every party; it takes no `party`",
        );
      const kind =
        b.party === undefined ? action : action === "suspend" ? "suspend-party" : "resume-party";
      return book.recordEvent(id, {
        kind,
        ...(b.by === undefined ? {} : { by: b.by }),
        ...(b.party === undefined ? {} : { party: b.party }),
        ...(b.reason === undefined ? {} : { reason: b.reason }),
      });
    });
}
