/**
 * Accord's profile of HTTP Message Signatures (RFC 9421) for every peer-protocol request under
 * `/federation/v1/` (spec/federation.md, "Request signatures"):
 *
 *   label    `accord`
 *   covers   "@method" "@authority" "@path" "@query", and when there is a body also
 *            "content-type" "content-digest" (RFC 9530 `sha-256`)
 *   params   created, expires (created + 300), nonce (128 random bits, base64url), keyid (the
 *            RFC 7638 thumbprint of the signer's Ed25519 key), alg "ed25519", tag
 *            "accord-federation/1"
 *
 * `signRequestHeaders` is the client side (every peer client calls it); `verifyRequestSignature`
 * is the server side without HTTP framework types (src/server/peer-auth.ts wires it into fastify).
 * Refusals, in order: no signature 401 ERR_UNAUTHENTICATED → malformed or off-profile 401
 * ERR_SIGNATURE_INVALID → `created` outside ±300 s or `expires` passed 401 ERR_SIGNATURE_INVALID
 * → key not a partner's 403 ERR_UNKNOWN_PARTNER → signature does not verify 401
 * ERR_SIGNATURE_INVALID → nonce seen before 409 ERR_REPLAY. The body's digest is checked by the
 * caller as the body streams in (`bodyDigestMatches`).
 */
import { randomBytes, type KeyObject } from "node:crypto";
import { AccordError } from "../errors.js";
import {
  claimedSha256,
  contentDigest,
  parseSignatures,
  signMessage,
  verifyMessage,
  type HttpMessageParts,
} from "../crypto/http-signature.js";

export const FEDERATION_PREFIX = "/federation/v1/";
export const SIGNATURE_LABEL = "accord";
export const SIGNATURE_TAG = "accord-federation/1";
/** How far `created` may be from the verifier's clock, either way, in seconds. */
export const SIGNATURE_WINDOW_SECONDS = 300;

const BASE_COMPONENTS = ["@method", "@authority", "@path", "@query"] as const;
const BODY_COMPONENTS = [...BASE_COMPONENTS, "content-type", "content-digest"] as const;
const NONCE = /^[A-Za-z0-9_-]{22,64}$/;
const KEYID = /^[A-Za-z0-9_-]{43}$/;

/** Who signs: the node's current Ed25519 key and its RFC 7638 thumbprint. */
export interface RequestSigner {
  readonly key: KeyObject;
  readonly keyId: string;
}

/**
 * The headers to add to a peer request: `content-digest` (when there is a body), `signature-input`
 * and `signature`. `contentType` must be the exact `content-type` the request is sent with.
 */
export function signRequestHeaders(
  signer: RequestSigner,
  req: {
    readonly method: string;
    readonly url: string;
    readonly body?: string | Uint8Array;
    readonly contentType?: string;
    /** Seconds since the epoch; the system clock when left out. */
    readonly now?: number;
    /** Random when left out; a caller that binds the answer to its request passes its own. */
    readonly nonce?: string;
  },
): Record<string, string> {
  const created = req.now ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {};
  const hasBody = req.body !== undefined;
  if (hasBody) {
    if (req.contentType === undefined)
      throw new TypeError("signRequestHeaders: a body needs its content type");
    headers["content-type"] = req.contentType;
    headers["content-digest"] = contentDigest(req.body);
  }
  const signed = signMessage(
    { method: req.method.toUpperCase(), url: req.url, headers },
    {
      label: SIGNATURE_LABEL,
      components: hasBody ? BODY_COMPONENTS : BASE_COMPONENTS,
      params: {
        created,
        expires: created + SIGNATURE_WINDOW_SECONDS,
        nonce: req.nonce ?? randomBytes(16).toString("base64url"),
        keyid: signer.keyId,
        alg: "ed25519",
        tag: SIGNATURE_TAG,
      },
      key: signer.key,
    },
  );
  return {
    ...headers,
    "signature-input": signed.signatureInput,
    signature: signed.signature,
  };
}

/** A partner key the verifier accepts, found by its thumbprint. */
export interface KnownKey {
  readonly nodeId: string;
  readonly key: KeyObject;
}

export interface VerifyRequestOptions {
  /** Seconds since the epoch. */
  readonly now: number;
  /** True when the request carries a body (content-length > 0 or chunked). */
  readonly hasBody: boolean;
  /** The partner key with this RFC 7638 thumbprint (current, or previous inside an overlap). */
  readonly keyFor: (keyId: string) => Promise<KnownKey | undefined>;
  /** Record the nonce until `expiresAt` (RFC 3339); false when it was seen before. */
  readonly remember: (keyId: string, nonce: string, expiresAt: string) => Promise<boolean>;
}

/** Verify a peer request's signature; returns the signing partner's node id or throws. */
export async function verifyRequestSignature(
  msg: HttpMessageParts,
  opts: VerifyRequestOptions,
): Promise<{ nodeId: string; keyId: string; nonce: string }> {
  const input = single(msg.headers["signature-input"]);
  const sig = single(msg.headers.signature);
  if (input === undefined || sig === undefined)
    throw new AccordError(
      "ERR_UNAUTHENTICATED",
      "peer requests must be signed (RFC 9421 `Signature-Input` and `Signature`)",
    );
  const parsed = parseSignatures(input, sig)?.find((s) => s.label === SIGNATURE_LABEL);
  if (parsed === undefined) throw invalid("the request signature is malformed");
  const p = parsed.params;
  const need: readonly string[] = opts.hasBody ? BODY_COMPONENTS : BASE_COMPONENTS;
  if (
    p.alg !== "ed25519" ||
    p.tag !== SIGNATURE_TAG ||
    p.created === undefined ||
    p.keyid === undefined ||
    !KEYID.test(p.keyid) ||
    p.nonce === undefined ||
    !NONCE.test(p.nonce) ||
    !need.every((c) => parsed.components.includes(c))
  )
    throw invalid("the request signature does not follow Accord's profile");
  if (
    Math.abs(opts.now - p.created) > SIGNATURE_WINDOW_SECONDS ||
    (p.expires !== undefined &&
      (p.expires <= opts.now || p.expires - p.created > SIGNATURE_WINDOW_SECONDS))
  )
    throw invalid("the request signature was created outside the accepted time window");
  const known = await opts.keyFor(p.keyid);
  if (known === undefined)
    throw new AccordError(
      "ERR_UNKNOWN_PARTNER",
      "the request is signed by a key that is not a partner's",
    );
  if (!verifyMessage(msg, parsed, known.key)) throw invalid("the request signature is invalid");
  const expiresAt = new Date((p.created + SIGNATURE_WINDOW_SECONDS + 1) * 1000).toISOString();
  if (!(await opts.remember(p.keyid, p.nonce, expiresAt)))
    throw new AccordError("ERR_REPLAY", "this signed request was already received (nonce seen)");
  return { nodeId: known.nodeId, keyId: p.keyid, nonce: p.nonce };
}

/** The SHA-256 a signed request's `content-digest` claims, or undefined when it has none readable. */
export function claimedDigest(
  field: string | readonly string[] | undefined,
): Uint8Array | undefined {
  const f = single(field);
  return f === undefined ? undefined : claimedSha256(f);
}

function single(v: string | readonly string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  return v.length === 1 ? v[0] : undefined;
}

function invalid(message: string): AccordError {
  return new AccordError("ERR_SIGNATURE_INVALID", message);
}
