/**
 * Key announcements' client side over HTTP (spec/federation.md, "Key rotation"): POSTs a signed
 * announcement to a partner's `/federation/v1/keys/announce`. The request is signed (RFC 9421)
 * with the key the partner already knows, which the caller names: after a rotation that is the
 * outgoing key, not the new current one. The answer is attacker-controlled: size-bounded here,
 * its acknowledgement verified by the app.
 */
import type { Peer } from "../app/ports.js";
import type { KeyAnnouncementTransport } from "../app/key-rotation.js";
import { readPeerAnswer, signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

export const KEY_ANNOUNCE_PATH = "/federation/v1/keys/announce";
const MAX_RESPONSE_BYTES = 64 * 1024;

export class HttpKeyAnnouncementClient implements KeyAnnouncementTransport {
  private readonly timeoutMs: number;
  private readonly now: (() => number) | undefined;

  constructor(options: { timeoutMs?: number; now?: () => number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.now = options.now;
  }

  async send(peer: Peer, announcement: string, signer: RequestSigner): Promise<unknown> {
    const res = await signedFetch(signer, new URL(KEY_ANNOUNCE_PATH, peer.url), {
      method: "POST",
      body: announcement,
      contentType: "application/json",
      timeoutMs: this.timeoutMs,
      ...(this.now === undefined ? {} : { now: Math.floor(this.now()) }),
    });
    return readPeerAnswer(res, peer, "key announcement", MAX_RESPONSE_BYTES);
  }
}
