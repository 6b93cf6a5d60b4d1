/**
 * The recall protocol's client side over HTTP (spec/recall.md): POSTs a sealed recall notice or
 * report to a partner's `/federation/v1/recalls` and returns its JSON answer. The answer is
 * attacker-controlled: size-bounded here, shape-checked and signature-verified by the app.
 */
import { AccordError, ERROR_STATUS, type ErrorCode } from "../errors.js";
import type { Peer } from "../app/ports.js";
import type { RecallTransport } from "../app/recall.js";
import { ENVELOPE_MEDIA_TYPE, signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

export const RECALL_PATH = "/federation/v1/recalls";
const MAX_RESPONSE_BYTES = 1 << 20;

export class HttpRecallClient implements RecallTransport {
  private readonly timeoutMs: number;
  private readonly signer: RequestSigner;

  /** Requests are signed (RFC 9421) with `signer`, this node's signing key, like every peer request. */
  constructor(options: { signer: RequestSigner; timeoutMs?: number }) {
    this.signer = options.signer;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async send(peer: Peer, envelope: string): Promise<unknown> {
    const url = new URL(RECALL_PATH, peer.url);
    const res = await signedFetch(this.signer, url, {
      method: "POST",
      body: envelope,
      contentType: ENVELOPE_MEDIA_TYPE,
      timeoutMs: this.timeoutMs,
    });
    const text = await res.text();
    if (text.length > MAX_RESPONSE_BYTES)
      throw new AccordError("ERR_PEER_UNAVAILABLE", "the partner's answer is too large");
    let body: unknown = null;
    try {
      body = text === "" ? null : JSON.parse(text);
    } catch {
      body = null;
    }
    if (res.ok) return body;
    const p = (body ?? {}) as { code?: unknown; detail?: unknown };
    const detail = typeof p.detail === "string" ? p.detail.slice(0, 300) : `status ${res.status}`;
    if (res.status >= 500 || res.status === 429)
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `\`${peer.nodeId}\` answered ${res.status}: ${detail}`,
      );
    const code: ErrorCode =
      typeof p.code === "string" && p.code in ERROR_STATUS
        ? (p.code as ErrorCode)
        : "ERR_BAD_REQUEST";
    throw new AccordError(code, `\`${peer.nodeId}\` refused the recall message: ${detail}`);
  }
}
