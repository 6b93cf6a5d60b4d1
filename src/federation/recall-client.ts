/**
 * The recall protocol's client side over HTTP (spec/recall.md): POSTs a sealed recall notice or
 * report to a partner's `/federation/v1/recalls` and returns its JSON answer. The answer is
 * attacker-controlled: size-bounded here, shape-checked and signature-verified by the app.
 */
import type { Peer } from "../app/ports.js";
import type { RecallTransport } from "../app/recall.js";
import { ENVELOPE_MEDIA_TYPE, readPeerAnswer, signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

export const RECALL_PATH = "/federation/v1/recalls";
const MAX_RESPONSE_BYTES = 1 << 20;

export class HttpRecallClient implements RecallTransport {
  private readonly timeoutMs: number;
  private readonly signer: RequestSigner;
  private readonly now: (() => number) | undefined;

  /**
   * Requests are signed (RFC 9421) with `signer`, this node's signing key, like every peer
   * request; `now` (seconds since the epoch, the node's clock) dates their signatures.
   */
  constructor(options: { signer: RequestSigner; timeoutMs?: number; now?: () => number }) {
    this.signer = options.signer;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.now = options.now;
  }

  async send(peer: Peer, envelope: string): Promise<unknown> {
    const url = new URL(RECALL_PATH, peer.url);
    const res = await signedFetch(this.signer, url, {
      method: "POST",
      body: envelope,
      contentType: ENVELOPE_MEDIA_TYPE,
      timeoutMs: this.timeoutMs,
      ...(this.now === undefined ? {} : { now: Math.floor(this.now()) }),
    });
    return readPeerAnswer(res, peer, "recall message", MAX_RESPONSE_BYTES);
  }
}
