/**
 * Key rotation routes (spec/federation.md, "Key rotation"):
 *
 *   POST /federation/v1/keys/announce   a partner's signed key announcement (the request is
 *                                       RFC 9421-signed with the key this node has pinned for it);
 *                                       answered with a signed acknowledgement
 *   GET  /api/v1/keys                   this node's keys: current, previous (with the end of the
 *                                       overlap), retired, revoked; announcements still pending
 *   POST /api/v1/keys/rotate            {overlap?: "7d"} a new current pair
 *   POST /api/v1/keys/retire            {fingerprint?} end the overlap now
 *   POST /api/v1/keys/revoke            {fingerprint?} revoke at once (the current key by default)
 */
import type { FastifyInstance } from "fastify";
import { parseOverlap, type KeyService } from "../app/key-rotation.js";
import { KEY_ANNOUNCE_PATH } from "../federation/key-client.js";
import type { Store } from "../app/ports.js";
import { authenticatedPeer } from "./peer-auth.js";

const FINGERPRINT = { type: "string", pattern: "^[A-Za-z0-9_-]{43}$" } as const;

export function registerKeyFederation(app: FastifyInstance, keys: KeyService): void {
  app.post(KEY_ANNOUNCE_PATH, async (req) => {
    const from = authenticatedPeer(req);
    const { ack } = await keys.receive(from, req.body);
    return { ack };
  });
}

export function registerKeyApi(
  api: FastifyInstance,
  opts: { readonly keys: KeyService; readonly store: Store; readonly deliver: () => Promise<void> },
): void {
  const { keys, store } = opts;
  const announceNow = (): void => {
    void opts.deliver().catch(() => undefined);
  };
  api.get("/keys", async () => {
    const pending = await store.keys.announcements({ status: "pending", limit: 1000 });
    return {
      keys: await keys.list(),
      pending: pending.map(({ body: _body, ...rest }) => rest),
    };
  });
  api.post(
    "/keys/rotate",
    {
      schema: {
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { overlap: { type: "string", maxLength: 16 } },
        },
      },
    },
    async (req) => {
      const { overlap } = (req.body ?? {}) as { overlap?: string };
      const r = await keys.rotate(overlap === undefined ? undefined : parseOverlap(overlap));
      announceNow();
      return r;
    },
  );
  const byFingerprint = {
    schema: {
      body: {
        type: ["object", "null"],
        additionalProperties: false,
        properties: { fingerprint: FINGERPRINT },
      },
    },
  };
  api.post("/keys/retire", byFingerprint, async (req) => {
    const { fingerprint } = (req.body ?? {}) as { fingerprint?: string };
    const r = await keys.retire(fingerprint);
    announceNow();
    return r;
  });
  api.post("/keys/revoke", byFingerprint, async (req) => {
    const { fingerprint } = (req.body ?? {}) as { fingerprint?: string };
    const r = await keys.revoke(fingerprint);
    announceNow();
    return r;
  });
}
