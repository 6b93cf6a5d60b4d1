/**
 * Authentication of every peer-protocol request (`/federation/v1/*`) by its RFC 9421 signature
 * (src/federation/request-signing.ts; spec/federation.md, "Request signatures"), as root-level
 * fastify hooks so that every route under the prefix is covered wherever it is registered:
 *
 *   onRequest   before the body is read: signature present, on profile, fresh, by a partner's key
 *               (current, or previous during a rotation's overlap), valid, nonce never seen
 *               (kept durably in the store until the window has passed)
 *   preParsing  the body is hashed as it streams in and must equal the signed `Content-Digest`;
 *               a mismatch fails the request before any handler runs
 *
 * A route reads the authenticated partner with `authenticatedPeer(req)` (and the request's
 * signature nonce with `peerRequestOf(req)`, to bind a signed answer to it).
 */
import { createHash, createPublicKey, type KeyObject } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { AccordError } from "../errors.js";
import type { Clock, Store } from "../app/ports.js";
import { jwkThumbprint, parsePublicJwk } from "../crypto/keys.js";
import { peekEnvelope, type Envelope } from "../crypto/envelope.js";
import { ENVELOPE_MEDIA_TYPE } from "../federation/http-peer-client.js";
import {
  FEDERATION_PREFIX,
  claimedDigest,
  verifyRequestSignature,
  type KnownKey,
} from "../federation/request-signing.js";

const PRUNE_EVERY_MS = 10 * 60_000;

/** A verified peer request: the signing partner and the nonce of its signature. */
export interface PeerRequest {
  /** The partner's node id, or an oversight witness's name when `oversight` is true. */
  readonly nodeId: string;
  readonly nonce: string;
  /** Signed by an oversight witness (accepted on the log's routes only), not a partner. */
  readonly oversight?: true;
}

/** The routes an oversight witness's key may sign requests for: the log's, nothing else. */
const WITNESS_ROUTES = `${FEDERATION_PREFIX}log/`;

const peers = new WeakMap<FastifyRequest, PeerRequest>();
/** The SHA-256 of a verified request's body, equal to its signed `Content-Digest`. */
const bodyDigests = new WeakMap<FastifyRequest, Uint8Array>();

/** The partner node that signed this request; throws when the request was not authenticated. */
export function authenticatedPeer(req: FastifyRequest): string {
  const p = peers.get(req);
  if (p === undefined)
    throw new AccordError("ERR_UNAUTHENTICATED", "the request is not signed by a partner");
  return p.nodeId;
}

/** The verified signer and nonce of this request, or undefined when it was not authenticated. */
export function peerRequestOf(req: FastifyRequest): PeerRequest | undefined {
  return peers.get(req);
}

/**
 * The sealed envelope a peer request carries (content type `application/jose`, read as bytes):
 * the body without surrounding ASCII whitespace, and its SHA-256 when that is the body's own,
 * already computed and checked against the signed `Content-Digest` as the body streamed in.
 */
export function envelopeBody(
  req: FastifyRequest,
  route: string,
): { envelope: Buffer; sha256?: Uint8Array } {
  const body = req.body;
  if (!Buffer.isBuffer(body))
    throw new AccordError(
      "ERR_UNSUPPORTED_MEDIA_TYPE",
      `the ${route} accepts \`${ENVELOPE_MEDIA_TYPE}\` only`,
    );
  let start = 0;
  let end = body.length;
  while (start < end && isAsciiSpace(body[start] ?? 0)) start++;
  while (end > start && isAsciiSpace(body[end - 1] ?? 0)) end--;
  const digest = bodyDigests.get(req);
  return start === 0 && end === body.length && digest !== undefined
    ? { envelope: body, sha256: digest }
    : { envelope: body.subarray(start, end) };
}

/** Space, tab, line feed, vertical tab, form feed, carriage return. */
function isAsciiSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

/** Refuse an envelope whose (unauthenticated) sender is not the partner that signed the request. */
export function assertEnvelopeFromSigner(req: FastifyRequest, envelope: Envelope): void {
  const signer = authenticatedPeer(req);
  const sender = peekEnvelope(envelope).sender;
  if (sender !== signer)
    throw new AccordError(
      "ERR_UNKNOWN_PARTNER",
      `the envelope names sender \`${sender}\`, but the request is signed by partner \`${signer}\``,
    );
}

export function registerPeerAuth(
  app: FastifyInstance,
  opts: {
    readonly store: Store;
    readonly clock: Clock;
    /**
     * Oversight witnesses (spec/log.md, "Witnesses"): their Ed25519 keys authenticate requests to
     * `/federation/v1/log/*` only, as the witness's name.
     */
    readonly witnesses?: readonly { readonly name: string; readonly publicKey: Uint8Array }[];
  },
): void {
  const { store, clock } = opts;
  const witnessKeys = new Map<string, KnownKey>();
  for (const w of opts.witnesses ?? []) {
    const k = toKeyOnce(w.publicKey);
    witnessKeys.set(k.id, { nodeId: w.name, key: k.key });
  }
  const keyCache = new Map<string, KeyObject>();
  const toKey = (jwk: Readonly<Record<string, string>>): { id: string; key: KeyObject } => {
    const pub = parsePublicJwk(jwk, "Ed25519");
    let key = keyCache.get(pub.x);
    if (key === undefined) {
      key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: pub.x }, format: "jwk" });
      keyCache.set(pub.x, key);
    }
    return { id: jwkThumbprint(pub), key };
  };
  const keyFor = async (keyId: string): Promise<KnownKey | undefined> => {
    for (const p of await store.peers.list()) {
      const k = toKey(p.signingKey);
      if (k.id === keyId) return { nodeId: p.nodeId, key: k.key };
    }
    for (const p of await store.peerKeys.active(clock.now().toISOString())) {
      const k = toKey(p.signingKey);
      if (k.id === keyId) return { nodeId: p.nodeId, key: k.key };
    }
    return undefined;
  };
  let lastPrune = 0;

  app.addHook("onRequest", async (req) => {
    if (!req.url.startsWith(FEDERATION_PREFIX)) return;
    const now = clock.now();
    const host = req.headers.host ?? "";
    // The matched route, not the raw URL, decides whether an oversight witness's key counts.
    const logRoute = req.routeOptions.url?.startsWith(WITNESS_ROUTES) === true;
    const via = { witness: false };
    const { nodeId, nonce } = await verifyRequestSignature(
      { method: req.method, url: `http://${host}${req.url}`, headers: req.headers },
      {
        now: Math.floor(now.getTime() / 1000),
        hasBody: hasBody(req),
        keyFor: async (keyId) => {
          const partner = await keyFor(keyId);
          if (partner !== undefined || !logRoute) return partner;
          const witness = witnessKeys.get(keyId);
          via.witness = witness !== undefined;
          return witness;
        },
        remember: (keyId, nonce, expiresAt) => store.nonces.remember(keyId, nonce, expiresAt),
      },
    );
    peers.set(req, via.witness ? { nodeId, nonce, oversight: true } : { nodeId, nonce });
    if (now.getTime() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = now.getTime();
      await store.nonces.prune(now.toISOString());
    }
  });

  app.addHook("preParsing", async (req, _reply, payload) => {
    if (!peers.has(req) || !hasBody(req)) return payload;
    const claimed = claimedDigest(req.headers["content-digest"]);
    if (claimed === undefined)
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        "a signed request with a body needs a `Content-Digest` with a `sha-256` member",
      );
    return payload.pipe(
      new DigestCheck(claimed, (digest) => {
        bodyDigests.set(req, digest);
      }),
    );
  });
}

function toKeyOnce(raw: Uint8Array): { id: string; key: KeyObject } {
  const x = Buffer.from(raw).toString("base64url");
  return {
    id: jwkThumbprint({ kty: "OKP", crv: "Ed25519", x }),
    key: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" }),
  };
}

function hasBody(req: FastifyRequest): boolean {
  return (
    req.headers["transfer-encoding"] !== undefined ||
    Number(req.headers["content-length"] ?? "0") > 0
  );
}

/**
 * Passes the body through unchanged and fails it at the end unless its SHA-256 is `expected`;
 * a body that matches is reported to `matched` (its digest, kept so the body is hashed once).
 */
class DigestCheck extends Transform {
  private readonly hash = createHash("sha256");
  /** fastify compares this with Content-Length. */
  receivedEncodedLength = 0;

  constructor(
    private readonly expected: Uint8Array,
    private readonly matched: (digest: Buffer) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.receivedEncodedLength += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const got = this.hash.digest();
    if (!got.equals(this.expected))
      done(
        new AccordError(
          "ERR_SIGNATURE_INVALID",
          "the body does not match the request's signed `Content-Digest`",
        ),
      );
    else {
      this.matched(got);
      done();
    }
  }
}
