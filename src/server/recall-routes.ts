/**
 * Recall, correction and retention over HTTP (spec/recall.md):
 *
 *   POST /federation/v1/recalls          sealed recall notices and reports from partners
 *                                        (the request signed by a partner, RFC 9421, by the
 *                                        shared hook of ./peer-auth.ts; the envelope sealed by
 *                                        that same partner)
 *   POST /api/v1/recalls                 issue a recall or correction (originator only)
 *   GET  /api/v1/recalls[?object=ID]     recalls and their acknowledgements
 *   GET  /api/v1/recalls/:id             one recall: targets, acknowledgements, what is outstanding
 *   POST /api/v1/recalls/:id/confirm     the operator closes a TAXII credential's target (its
 *                                        holder was told by other means)
 *   POST /api/v1/purges                  run the retention purge now
 *   GET  /api/v1/onward-refusals         refused attempts to pass on another node's object
 *
 * The `/api/v1` routes are registered inside the bearer-authenticated API scope of ./http.ts.
 */
import type { FastifyInstance } from "fastify";
import type { RecallService } from "../app/recall.js";
import { RECALL_PATH } from "../federation/recall-client.js";
import { assertEnvelopeFromSigner, envelopeBody } from "./peer-auth.js";

export function registerRecallFederation(app: FastifyInstance, recalls: RecallService): void {
  app.post(RECALL_PATH, async (req, reply) => {
    const { envelope } = envelopeBody(req, "recall endpoint");
    assertEnvelopeFromSigner(req, envelope);
    return reply.code(200).send(await recalls.receive(envelope));
  });
}

export function registerRecallApi(api: FastifyInstance, recalls: RecallService): void {
  api.post(
    "/recalls",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["object"],
          properties: {
            object: { type: "string", minLength: 1, maxLength: 300 },
            kind: { enum: ["recall", "correction"] },
            reason: { type: "string", maxLength: 1000 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as { object: string; kind?: "recall" | "correction"; reason?: string };
      const status = await recalls.issue({
        objectId: b.object,
        ...(b.kind === undefined ? {} : { kind: b.kind }),
        ...(b.reason === undefined ? {} : { reason: b.reason }),
      });
      return reply.code(201).send(status);
    },
  );

  api.get("/recalls", async (req) => {
    const q = req.query as Record<string, string | undefined>;
    return {
      recalls: await recalls.list(q.object === undefined ? {} : { objectId: q.object }),
    };
  });

  api.get("/recalls/:id", async (req) => {
    const { id } = req.params as { id: string };
    return recalls.status(id);
  });

  api.post(
    "/recalls/:id/confirm",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["target"],
          properties: { target: { type: "string", minLength: 1, maxLength: 100 } },
        },
      },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      return recalls.confirm(id, (req.body as { target: string }).target);
    },
  );

  api.post("/purges", async () => recalls.purgeExpired());

  api.get("/onward-refusals", async () => ({ refusals: await recalls.onwardRefusals() }));
}
