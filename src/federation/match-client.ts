/**
 * The match protocol's client side over HTTP (spec/match.md §HTTP): filters, online evaluations,
 * PSI sessions, follow-up requests and decisions between nodes, under `/federation/v1/match/`.
 *
 * Every request is a standard peer request, signed with RFC 9421 HTTP Message Signatures
 * (`signedFetch`, spec/federation.md "Request signatures"). Every 2xx answer is signed back by the
 * responder: a detached JWS in `Accord-Signature` over `{accord, responder, requester, nonce,
 * status, digest}` with the nonce of the request's RFC 9421 signature, so a requester knows which
 * node answered which request. Everything the partner answers is attacker-controlled: bodies are
 * size-bounded (`readPeerAnswer`) and parsed by the app before use.
 */
import { randomBytes } from "node:crypto";
import { AccordError } from "../errors.js";
import type { Peer } from "../app/ports.js";
import type { MatchTransport } from "../app/match.js";
import { sha256Hex } from "../crypto/hash.js";
import { parsePublicJwk, type PublicJwk } from "../crypto/keys.js";
import { signatureKeyId, verifyJson } from "../crypto/sign.js";
import { readPeerAnswer, signedFetch } from "./http-peer-client.js";
import type { RequestSigner } from "./request-signing.js";

export const MATCH_PREFIX = "/federation/v1/match";
export const FILTERS_PATH = `${MATCH_PREFIX}/filters`;
export const EVALUATIONS_PATH = `${MATCH_PREFIX}/evaluations`;
export const PSI_PATH = `${MATCH_PREFIX}/psi`;
export const REQUESTS_PATH = `${MATCH_PREFIX}/requests`;
const MAX_RESPONSE_BYTES = 16 << 20;

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
  /** This node's current signing key and its thumbprint (RFC 9421 `keyid`). */
  readonly signer: RequestSigner;
  readonly timeoutMs?: number;
  /** Seconds since the epoch (injected for tests); the system clock by default. */
  readonly now?: () => number;
  /**
   * The partner's signing key with this thumbprint (`kid` of an answer's signature): its pinned
   * key, or a previous one inside its rotation overlap and never revoked
   * (app/key-rotation.ts `partnerSigningKey`). Without it only the pinned key is accepted.
   */
  readonly peerKey?: (peer: Peer, kid: string | undefined) => Promise<PublicJwk | undefined>;
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

  /** One signed request; a 2xx answer's signature is checked before its body is returned. */
  async call(
    peer: Peer,
    method: "GET" | "POST",
    path: string,
    body?: Readonly<Record<string, unknown>>,
  ): Promise<unknown> {
    let url: URL;
    try {
      url = new URL(path, peer.url);
    } catch {
      throw new AccordError("ERR_BAD_REQUEST", `\`${peer.url}\` is not a URL`);
    }
    const nonce = randomBytes(16).toString("base64url");
    const now = this.o.now?.();
    const res = await signedFetch(this.o.signer, url, {
      method,
      nonce,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), contentType: "application/json" }),
      ...(now === undefined ? {} : { now: Math.floor(now) }),
      ...(this.o.timeoutMs === undefined ? {} : { timeoutMs: this.o.timeoutMs }),
    });
    if (res.ok) await this.checkAnswer(res.clone(), peer, nonce);
    return readPeerAnswer(res, peer, "match request", MAX_RESPONSE_BYTES, {
      tooManyIsRefusal: true,
    });
  }

  private async checkAnswer(res: Response, peer: Peer, nonce: string): Promise<void> {
    const answer = await res.text();
    const sig = res.headers.get("accord-signature");
    // Signed by the partner's pinned key, or (an answer signed just before the partner rotated)
    // by a previous key of its still inside the overlap.
    const key =
      sig === null
        ? undefined
        : this.o.peerKey === undefined
          ? parsePublicJwk(peer.signingKey, "Ed25519")
          : await this.o.peerKey(peer, signatureKeyId(sig));
    const ok =
      sig !== null &&
      key !== undefined &&
      answer.length <= MAX_RESPONSE_BYTES &&
      (await verifyJson(
        sig,
        responseSigningPayload({
          responder: peer.nodeId,
          requester: this.o.nodeId,
          nonce,
          status: res.status,
          body: answer,
        }),
        key,
      ));
    if (!ok)
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the answer is not signed by \`${peer.nodeId}\`'s key`,
      );
  }
}
