/**
 * Outbox operations on the node's own API (bearer-authenticated, registered inside `/api/v1`):
 *
 *   POST /api/v1/outbox/:id/cancel   cancel a pending item; it is never sent (logged)
 *
 * Listing and reading items stay in http.ts (`GET /api/v1/outbox`, `GET /api/v1/outbox/:id`).
 */
import type { FastifyInstance } from "fastify";
import type { AccordNode } from "../app/node.js";
import type { Clock, Store } from "../app/ports.js";
import { cancelOutboxItem } from "../app/outbox-ops.js";

export function registerOutboxApi(
  api: FastifyInstance,
  opts: { readonly node: AccordNode; readonly store: Store; readonly clock?: Clock },
): void {
  const clock = opts.clock ?? opts.node.clock;
  api.post("/outbox/:id/cancel", async (req) => {
    const { id } = req.params as { id: string };
    return cancelOutboxItem({ store: opts.store, clock }, id);
  });
}
