/**
 * POST /api/v1/taxii-pulls: one page of objects `accord taxii pull --from PARTNER` read from the
 * partner's TAXII server, stored as that partner's (src/app/taxii-pull.ts, spec/taxii.md
 * "Client"). Operator only (the node's bearer token, checked by the /api/v1 hook).
 */
import type { FastifyInstance } from "fastify";
import type { AccordNode } from "../app/node.js";
import type { Clock, Random, Store } from "../app/ports.js";
import { acceptPulled, type PullPage } from "../app/taxii-pull.js";

const ID = { type: "string", minLength: 1, maxLength: 200 } as const;

export function registerTaxiiPullApi(
  api: FastifyInstance,
  d: { node: AccordNode; store: Store; clock: Clock; random: Random },
): void {
  api.post(
    "/taxii-pulls",
    {
      schema: {
        body: {
          type: "object",
          additionalProperties: false,
          required: ["from", "objects"],
          properties: {
            from: ID,
            purpose: ID,
            agreement: ID,
            source: {
              type: "object",
              additionalProperties: false,
              required: ["apiRoot", "collection"],
              properties: {
                apiRoot: { type: "string", minLength: 1, maxLength: 2000 },
                collection: { type: "string", minLength: 1, maxLength: 200 },
              },
            },
            objects: { type: "array", maxItems: 10_000 },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as Omit<PullPage, "agreementId"> & { agreement?: string };
      const result = await acceptPulled(d, {
        from: b.from,
        objects: b.objects,
        ...(b.purpose === undefined ? {} : { purpose: b.purpose }),
        ...(b.agreement === undefined ? {} : { agreementId: b.agreement }),
        ...(b.source === undefined ? {} : { source: b.source }),
      });
      return reply.code(200).send(result);
    },
  );
}
