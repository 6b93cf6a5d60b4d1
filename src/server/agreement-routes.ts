/**
 * Agreement lifecycle routes (spec/agreement.md "Enforcement on a node"):
 *
 *   POST /federation/v1/agreements/signatures   a partner's signed exchange message (the request
 *                                               is RFC 9421-signed like every peer request; the
 *                                               message carries its own JWS by the same partner)
 *   GET  /api/v1/agreements/:id                  state, versions, signatures, who still has to sign
 *   POST /api/v1/agreements/:id/sign             sign (the highest held version, or `version`)
 *   POST /api/v1/agreements/:id/sync             exchange signatures and events with the parties
 *   GET  /api/v1/agreements/:id/exchanges        exchanges owed to partners (pending ones retried)
 *   POST /api/v1/agreements/:id/suspend|resume|terminate
 *   POST /federation/v1/consents                 an originator's consent pushed to its holder
 *   POST /api/v1/consents/grant                  as originator: sign a consent to one onward hop
 *                                               and push it to the holder (retried until
 *                                               the holder acknowledges it)
 *   GET  /api/v1/consents/pushes                 as originator: consents pushed, pending or done
 *   POST /api/v1/consents                        as holder: verify and keep a consent
 *
 * The offline CLI forms, over the API (a YAML body, `application/yaml`; errors carry
 * `source:line:column` like the CLI's `FILE:line:column`):
 *
 *   POST /api/v1/agreements/lint                 well formed? id, version, hash
 *   POST /api/v1/agreements/hash                 the signing payload (canonical hash)
 *   POST /api/v1/agreements/show                 the validated document, defaults filled in
 *   POST /api/v1/agreements/diff                 {before, after} YAML texts: changes of meaning
 *   GET  /api/v1/agreements/:id/versions/:v      a held version: document, hash, source
 *   GET  /api/v1/agreements/:id/diff?from=&to=   changes between two held versions
 */
import type { FastifyInstance } from "fastify";
import { AccordError } from "../errors.js";
import { diffAgreements } from "../core/agreement/diff.js";
import { signingPayload } from "../core/agreement/lifecycle.js";
import { parseAgreement, type Agreement } from "../core/agreement/parse.js";
import type { AccordNode } from "../app/node.js";
import { AGREEMENT_EXCHANGE_PATH, CONSENT_PUSH_PATH } from "../federation/agreement-exchange.js";
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
  // An originator pushes a consent it signed; the holder verifies and keeps it.
  app.post(
    CONSENT_PUSH_PATH,
    { schema: { body: { type: "object", required: ["consent"], properties: { consent: {} } } } },
    async (req, reply) => {
      const signer = authenticatedPeer(req);
      const r = await node.agreementBook.receiveConsent(
        signer,
        (req.body as { consent: unknown }).consent,
      );
      // The acknowledgement names the consent (its id), so the originator's push is done.
      return reply.code(r.added ? 201 : 200).send({ consent: r.id, added: r.added });
    },
  );
}

/** The YAML text of a request body, under the name its errors will quote. */
function yamlBody(body: unknown, name: string): Agreement {
  if (typeof body !== "string")
    throw new AccordError(
      "ERR_UNSUPPORTED_MEDIA_TYPE",
      `send ${name === "request body" ? "the agreement" : `\`${name}\``} as YAML text (\`application/yaml\`)`,
    );
  return parseAgreement(body, name);
}

/**
 * `accord agreement lint|hash|show|diff` over the API: the same parser and the same answers as
 * the CLI; nothing is stored.
 */
function registerOfflineForms(api: FastifyInstance, node: AccordNode): void {
  const book = node.agreementBook;
  api.post("/agreements/lint", (req) => {
    const a = yamlBody(req.body, "request body");
    return { valid: true, id: a.id, version: a.version, hash: a.hash };
  });
  api.post("/agreements/hash", (req) => ({
    ...signingPayload(yamlBody(req.body, "request body")),
  }));
  api.post("/agreements/show", (req) => {
    const a = yamlBody(req.body, "request body");
    return { id: a.id, version: a.version, hash: a.hash, doc: a.doc };
  });
  api.post(
    "/agreements/diff",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["before", "after"],
          properties: { before: { type: "string" }, after: { type: "string" } },
        },
      },
    },
    (req) => {
      const b = req.body as { before: string; after: string };
      return { changes: diffAgreements(yamlBody(b.before, "before"), yamlBody(b.after, "after")) };
    },
  );
  const version = { type: "integer", minimum: 1, maximum: 1_000_000 } as const;
  api.get(
    "/agreements/:id/versions/:version",
    {
      schema: {
        params: {
          type: "object",
          required: ["id", "version"],
          properties: { id: ID, version },
        },
      },
    },
    (req) => {
      const { id, version: v } = req.params as { id: string; version: number };
      const a = held(book.find(id, v), id, v, node.id);
      return { id: a.id, version: a.version, hash: a.hash, doc: a.doc, source: a.source };
    },
  );
  api.get(
    "/agreements/:id/diff",
    {
      schema: {
        params: { type: "object", required: ["id"], properties: { id: ID } },
        querystring: {
          type: "object",
          additionalProperties: false,
          required: ["from", "to"],
          properties: { from: version, to: version },
        },
      },
    },
    (req) => {
      const { id } = req.params as { id: string };
      const { from, to } = req.query as { from: number; to: number };
      const self = node.id;
      const changes = diffAgreements(
        held(book.find(id, from), id, from, self),
        held(book.find(id, to), id, to, self),
      );
      return { id, from, to, changes };
    },
  );
}

function held(a: Agreement | undefined, id: string, version: number, self: string): Agreement {
  if (a === undefined)
    throw new AccordError(
      "ERR_NOT_FOUND",
      `version ${String(version)} of \`${id}\` is not held by \`${self}\``,
    );
  return a;
}

export function registerAgreementApi(api: FastifyInstance, node: AccordNode): void {
  const book = node.agreementBook;
  registerOfflineForms(api, node);
  const params = {
    type: "object",
    required: ["id"],
    properties: { id: ID },
  } as const;

  api.get("/agreements/:id", { schema: { params } }, (req) => {
    const { id } = req.params as { id: string };
    return book.view(id);
  });

  // The exchanges owed to partners: pending ones are retried by the delivery pass.
  api.get("/agreements/:id/exchanges", { schema: { params } }, async (req) => {
    const { id } = req.params as { id: string };
    book.view(id); // ERR_NOT_FOUND for an agreement not held
    return { exchanges: await node.agreementBook.exchanges(id) };
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
      return reply.code(201).send(await book.grantConsent(b));
    },
  );
  api.get("/consents/pushes", async () => ({ pushes: await book.consentPushes() }));
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
