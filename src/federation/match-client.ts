/**
 * The match protocol's client side over HTTP (spec/match.md §HTTP): filters, online evaluations,
 * PSI sessions, follow-up requests and decisions between nodes, under `/federation/v1/match/`.
 *
 * Every request is signed by the sending node's Ed25519 key: a detached JWS (src/crypto/sign.ts)
 * over the RFC 8785 form of `{accord, method, path, sender, recipient, created, nonce, digest}`,
 * sent in `Accord-Signature` with `Accord-Node`, `Accord-Created` and `Accord-Nonce`. Every 2xx
 * answer is signed back by the responder over `{accord, responder, requester, nonce, status,
 * digest}`, so a requester knows which node answered which request. Everything the partner
 * answers is attacker-controlled: bodies are size-bounded and parsed by the app before use.
 */
import { randomBytes, type KeyObject } from "node:crypto";
import { AccordError, ERROR_STATUS, type ErrorCode } from "../errors.js";
import type { Peer } from "../app/ports.js";
import type { MatchTransport } from "../app/match.js";
import { sha256Hex } from "../crypto/hash.js";
import { parsePublicJwk } from "../crypto/keys.js";
import { signJson, verifyJson } from "../crypto/sign.js";

export const MATCH_PREFIX = "/federation/v1/match";
export const FILTERS_PATH = `${MATCH_PREFIX}/filters`;
export const EVALUATIONS_PATH = `${MATCH_PREFIX}/evaluations`;
export const PSI_PATH = `${MATCH_PREFIX}/psi`;
export const REQUESTS_PATH = `${MATCH_PREFIX}/requests`;
/** Signed requests older or newer than this (seconds) are refused. */
export const MAX_CLOCK_SKEW_SECONDS = 300;
const MAX_RESPONSE_BYTES = 16 << 20;

/** What a request signature covers. */
export function requestSigningPayload(r: {
  method: string;
  path: string;
  sender: string;
  recipient: string;
  created: number;
  nonce: string;
  body: string;
}): Record<string, unknown> {
  return {
    accord: "match-request-signature/1",
    method: r.method.toUpperCase(),
    path: r.path,
    sender: r.sender,
    recipient: r.recipient,
    created: r.created,
    nonce: r.nonce,
    digest: sha256Hex(r.body),
  };
}

/** What a response signature covers. */
export function responseSigningPayload(r: {
  responder: string;
  requester: string;
  nonce: string;
  status: number;
  body: string;
}): Record<string, unknown> {
  return {
    accord: "match-response-signature/1",
    responder: r.responder,
    requester: r.requester,
    nonce: r.nonce,
    status: r.status,
    digest: sha256Hex(r.body),
  };
}

export interface HttpMatchClientOptions {
  readonly nodeId: string;
  readonly signingKey: KeyObject;
  readonly timeoutMs?: number;
  /** Seconds since the epoch (injected for tests); the system clock by default. */
  readonly now?: () => number;
}

export class HttpMatchClient implements MatchTransport {
  private readonly o: HttpMatchClientOptions;

  constructor(options: HttpMatchClientOptions) {
    this.o = options;
  }

  fetchFilter(peer: Peer, agreementId: string): Promise<unknown> {
    return this.call(peer, "GET", `${FILTERS_PATH}/${encodeURIComponent(agreementId)}`);
  }

  evaluate(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown> {
    return this.call(peer, "POST", EVALUATIONS_PATH, body);
  }

  psi(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown> {
    return this.call(peer, "POST", PSI_PATH, body);
  }

  fileRequest(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown> {
    return this.call(peer, "POST", REQUESTS_PATH, body);
  }

  notifyDecision(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown> {
    const id = typeof body.id === "string" ? body.id : "";
    return this.call(peer, "POST", `${REQUESTS_PATH}/${encodeURIComponent(id)}/decision`, body);
  }

  /** One signed request; the answer's signature is checked before its body is returned. */
  async call(
    peer: Peer,
    method: "GET" | "POST",
    path: string,
    body?: Readonly<Record<string, unknown>>,
  ): Promise<unknown> {
    const text = body === undefined ? "" : JSON.stringify(body);
    const created = Math.floor(this.o.now?.() ?? Date.now() / 1000);
    const nonce = randomBytes(16).toString("base64url");
    const signature = await signJson(
      requestSigningPayload({
        method,
        path,
        sender: this.o.nodeId,
        recipient: peer.nodeId,
        created,
        nonce,
        body: text,
      }),
      this.o.signingKey,
    );
    let url: URL;
    try {
      url = new URL(path, peer.url);
    } catch {
      throw new AccordError("ERR_BAD_REQUEST", `\`${peer.url}\` is not a URL`);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: {
          accept: "application/json",
          "accord-node": this.o.nodeId,
          "accord-created": String(created),
          "accord-nonce": nonce,
          "accord-signature": signature,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: text }),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
        redirect: "error",
      });
    } catch (e) {
      throw new AccordError("ERR_PEER_UNAVAILABLE", `\`${peer.nodeId}\` could not be reached`, {
        cause: e,
      });
    }
    const answer = await res.text();
    if (answer.length > MAX_RESPONSE_BYTES)
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `the answer of \`${peer.nodeId}\` is too large`,
      );
    let parsed: unknown = null;
    try {
      parsed = answer === "" ? null : JSON.parse(answer);
    } catch {
      parsed = null;
    }
    if (!res.ok) throw refusal(res.status, parsed, peer.nodeId, res.headers.get("retry-after"));
    const sig = res.headers.get("accord-signature");
    const ok =
      sig !== null &&
      (await verifyJson(
        sig,
        responseSigningPayload({
          responder: peer.nodeId,
          requester: this.o.nodeId,
          nonce,
          status: res.status,
          body: answer,
        }),
        parsePublicJwk(peer.signingKey, "Ed25519"),
      ));
    if (!ok)
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the answer is not signed by \`${peer.nodeId}\`'s key`,
      );
    return parsed;
  }
}

/** A partner's problem document as an error with the partner's code (5xx: unavailable). */
function refusal(
  status: number,
  body: unknown,
  nodeId: string,
  retryAfter: string | null,
): AccordError {
  const p = (body ?? {}) as { code?: unknown; detail?: unknown; retry_at?: unknown };
  const text = typeof p.detail === "string" ? p.detail.slice(0, 500) : `status ${String(status)}`;
  if (status >= 500)
    return new AccordError(
      "ERR_PEER_UNAVAILABLE",
      `\`${nodeId}\` answered ${String(status)}: ${text}`,
    );
  const code: ErrorCode =
    typeof p.code === "string" && p.code in ERROR_STATUS
      ? (p.code as ErrorCode)
      : "ERR_BAD_REQUEST";
  let retryAt: string | undefined;
  if (typeof p.retry_at === "string" && !Number.isNaN(Date.parse(p.retry_at)))
    retryAt = new Date(Date.parse(p.retry_at)).toISOString();
  else if (retryAfter !== null && /^\d{1,9}$/.test(retryAfter))
    retryAt = new Date(Date.now() + Number(retryAfter) * 1000).toISOString();
  return new AccordError(code, `\`${nodeId}\` refused: ${text}`, {
    ...(retryAt === undefined ? {} : { retryAt }),
  });
}
