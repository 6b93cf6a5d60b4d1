/**
 * The peer protocol's client side over HTTP (spec/federation.md): delivers sealed envelopes to a
 * partner's `/federation/v1/inbox` and fetches node descriptors. Every request under
 * `/federation/v1/` is signed (RFC 9421, ./request-signing.ts) with `signedFetch`, which other
 * peer clients use too. Everything the partner answers is attacker-controlled: bodies are
 * size-bounded and shape-checked before use.
 */
import { AccordError, ERROR_STATUS, type ErrorCode } from "../errors.js";
import type { Peer, PeerClient } from "../app/ports.js";
import { signRequestHeaders, type RequestSigner } from "./request-signing.js";

export const ENVELOPE_MEDIA_TYPE = "application/jose";
export const DESCRIPTOR_PATH = "/.well-known/accord-node";
export const INBOX_PATH = "/federation/v1/inbox";
const MAX_RESPONSE_BYTES = 1 << 20;

export interface HttpPeerClientOptions {
  /** Per-request timeout. */
  readonly timeoutMs?: number;
  /** This node's request-signing key; peer requests are refused (401) by partners without it. */
  readonly signer?: RequestSigner;
  /** Seconds since the epoch for signatures' `created` (the node's clock); the system clock by default. */
  readonly now?: () => number;
}

/**
 * One signed peer request (RFC 9421): `content-digest`, `signature-input` and `signature` are
 * added to `init.headers`. Network failures become ERR_PEER_UNAVAILABLE; the caller reads the
 * answer (size-bounded: see `readJson`).
 */
/**
 * Read a partner's JSON answer to a signed peer request (attacker-controlled): at most `maxBytes`,
 * the parsed body when the status is 2xx; otherwise ERR_PEER_UNAVAILABLE for 5xx and 429 (retry
 * later) or the partner's own error code (`refused the <what>: <detail>`) for a refusal.
 */
export async function readPeerAnswer(
  res: Response,
  peer: Pick<Peer, "nodeId">,
  what: string,
  maxBytes = 1 << 20,
  /**
   * `tooManyIsRefusal`: a 429 is the partner's refusal (its code, and `retryAt` from `retry_at`
   * or `Retry-After`), not a transport failure to retry: a spent query budget (spec/match.md).
   */
  options: { readonly tooManyIsRefusal?: boolean } = {},
): Promise<unknown> {
  const text = await res.text();
  if (text.length > maxBytes)
    throw new AccordError("ERR_PEER_UNAVAILABLE", "the partner's answer is too large");
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (res.ok) return body;
  const p = (body ?? {}) as { code?: unknown; detail?: unknown; retry_at?: unknown };
  const detail = typeof p.detail === "string" ? p.detail.slice(0, 300) : `status ${res.status}`;
  const refusedForNow = res.status === 429 && options.tooManyIsRefusal === true;
  if (res.status >= 500 || (res.status === 429 && !refusedForNow))
    throw new AccordError(
      "ERR_PEER_UNAVAILABLE",
      `\`${peer.nodeId}\` answered ${res.status}: ${detail}`,
    );
  const code: ErrorCode =
    typeof p.code === "string" && p.code in ERROR_STATUS
      ? (p.code as ErrorCode)
      : "ERR_BAD_REQUEST";
  const retryAt = refusedForNow ? retryAtOf(p.retry_at, res.headers.get("retry-after")) : undefined;
  throw new AccordError(code, `\`${peer.nodeId}\` refused the ${what}: ${detail}`, {
    ...(retryAt === undefined ? {} : { retryAt }),
  });
}

/** When a refusal may be retried: the problem's `retry_at`, else `Retry-After` seconds from now. */
function retryAtOf(retryAt: unknown, retryAfter: string | null): string | undefined {
  if (typeof retryAt === "string" && !Number.isNaN(Date.parse(retryAt)))
    return new Date(Date.parse(retryAt)).toISOString();
  if (retryAfter !== null && /^\d{1,9}$/.test(retryAfter))
    return new Date(Date.now() + Number(retryAfter) * 1000).toISOString();
  return undefined;
}

export async function signedFetch(
  signer: RequestSigner,
  url: URL,
  init: {
    readonly method: "GET" | "POST" | "PUT" | "DELETE";
    /** Bytes are sent as they are (and digested as they are): no conversion of a large body. */
    readonly body?: string | Uint8Array;
    readonly contentType?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly timeoutMs?: number;
    /** Seconds since the epoch for `created`; the system clock by default. */
    readonly now?: number;
    /** The signature's nonce; random by default (the match client binds its answers to it). */
    readonly nonce?: string;
  },
): Promise<Response> {
  const signed = signRequestHeaders(signer, {
    method: init.method,
    url: url.href,
    ...(init.now === undefined ? {} : { now: init.now }),
    ...(init.nonce === undefined ? {} : { nonce: init.nonce }),
    ...(init.body === undefined ? {} : { body: init.body }),
    ...(init.contentType === undefined ? {} : { contentType: init.contentType }),
  });
  try {
    return await fetch(url, {
      method: init.method,
      headers: { accept: "application/json", ...init.headers, ...signed },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
      redirect: "error",
    });
  } catch (e) {
    throw new AccordError("ERR_PEER_UNAVAILABLE", `\`${url.origin}\` could not be reached`, {
      cause: e,
    });
  }
}

export class HttpPeerClient implements PeerClient {
  private readonly timeoutMs: number;
  private readonly signer: RequestSigner | undefined;
  private readonly now: (() => number) | undefined;

  constructor(options: HttpPeerClientOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.signer = options.signer;
    this.now = options.now;
  }

  async deliver(peer: Peer, envelope: string | Uint8Array): Promise<{ receipt: string }> {
    const res = await this.signed(peer, INBOX_PATH, {
      method: "POST",
      body: envelope,
      contentType: ENVELOPE_MEDIA_TYPE,
    });
    const body = await readJson(res);
    if (!res.ok) throw refusal(res.status, body, peer.nodeId);
    const receipt = (body as { receipt?: unknown } | null)?.receipt;
    if (typeof receipt !== "string")
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `\`${peer.nodeId}\` answered without a receipt`,
      );
    return { receipt };
  }

  async fetchDescriptor(url: string): Promise<unknown> {
    let target: URL;
    try {
      target = new URL(DESCRIPTOR_PATH, url);
    } catch {
      throw new AccordError("ERR_BAD_REQUEST", `\`${url}\` is not a URL`);
    }
    if (target.protocol !== "http:" && target.protocol !== "https:")
      throw new AccordError("ERR_BAD_REQUEST", `\`${url}\` is not an http(s) URL`);
    const res = await this.request(target, {
      method: "GET",
      headers: { accept: "application/json" },
    });
    const body = await readJson(res);
    if (!res.ok)
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `\`${url}\` answered ${res.status} for its descriptor`,
      );
    return body;
  }

  /** A signed request to a partner's `path` (under `/federation/v1/`). */
  async signed(
    peer: Peer,
    path: string,
    init: { method: "GET" | "POST"; body?: string | Uint8Array; contentType?: string },
  ): Promise<Response> {
    if (this.signer === undefined)
      throw new TypeError("HttpPeerClient: peer requests need a signer");
    let url: URL;
    try {
      url = new URL(path, peer.url);
    } catch {
      throw new AccordError("ERR_BAD_REQUEST", `\`${peer.url}\` is not a URL`);
    }
    return signedFetch(this.signer, url, {
      ...init,
      timeoutMs: this.timeoutMs,
      ...(this.now === undefined ? {} : { now: Math.floor(this.now()) }),
    });
  }

  private async request(url: URL, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, {
        ...init,
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: "error",
      });
    } catch (e) {
      throw new AccordError("ERR_PEER_UNAVAILABLE", `\`${url.origin}\` could not be reached`, {
        cause: e,
      });
    }
  }
}

/** The answer's JSON (null when empty or not JSON); ERR_PEER_UNAVAILABLE when over 1 MiB. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text.length > MAX_RESPONSE_BYTES)
    throw new AccordError("ERR_PEER_UNAVAILABLE", "the partner's answer is too large");
  if (text === "") return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Turn a partner's problem document into an error: 5xx and 429 are retryable, others are refusals. */
function refusal(status: number, body: unknown, nodeId: string): AccordError {
  const code = (body as { code?: unknown } | null)?.code;
  const detail = (body as { detail?: unknown } | null)?.detail;
  const text = typeof detail === "string" ? detail.slice(0, 300) : `status ${status}`;
  if (status >= 500 || status === 429)
    return new AccordError("ERR_PEER_UNAVAILABLE", `\`${nodeId}\` answered ${status}: ${text}`);
  const known =
    typeof code === "string" && code in ERROR_STATUS ? (code as ErrorCode) : "ERR_BAD_REQUEST";
  return new AccordError(known, `\`${nodeId}\` refused the envelope: ${text}`);
}
