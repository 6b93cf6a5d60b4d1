/**
 * Node keys: an Ed25519 key pair for signatures (RFC 8032; JOSE "EdDSA", RFC 8037 §3.1) and an
 * X25519 key pair for key agreement (RFC 7748; JOSE "ECDH-ES", RFC 8037 §3.2 and RFC 7518 §4.6),
 * their public halves as OKP JWKs (RFC 7517, RFC 8037 §2), their fingerprints (RFC 7638 JWK
 * thumbprints), and the JSON text they are kept in on disk.
 *
 * Flow: `generateNodeKeys` once → `exportNodeKeys` (the CLI writes the text to a 0600 file) →
 * `importNodeKeys` at every start. The public JWKs go into the node descriptor that partners pin;
 * operators compare `jwkThumbprint`s out of band.
 *
 * Risks, and what this module does about them:
 * - A partner's public key is attacker-controlled. `parsePublicJwk` checks kty and crv, that `x`
 *   is the canonical base64url of exactly 32 bytes, refuses private members, and for X25519
 *   refuses the low-order points whose shared secret is all zeros (RFC 7748 §6.1): sealing to
 *   such a key would let anyone read the envelope.
 * - A key file may be damaged or swapped. `importNodeKeys` accepts the exact format only and
 *   checks that each private key yields the public key written beside it (node:crypto would
 *   silently derive its own and ignore a wrong `x`).
 * - Key material must not leak through errors. Every failure is an AccordError with a constant
 *   message and no cause (JSON.parse quotes its input in its messages).
 * Residual risk: Ed25519 public keys are not checked for small order; a partner that publishes
 * such a key weakens only its own signatures, and the key is pinned by its operators.
 */
import {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
} from "node:crypto";
import { AccordError } from "../errors.js";
import { decodeB64url, encodeB64url, parseJsonObject } from "./compact.js";
import { sha256 } from "./hash.js";
import { canonicalize } from "./jcs.js";

export type OkpCurve = "Ed25519" | "X25519";

export interface PublicJwk {
  readonly kty: "OKP";
  readonly crv: OkpCurve;
  readonly x: string;
  readonly kid?: string;
}

export interface NodeKeys {
  /** Ed25519: signs envelope contents, receipts and the node descriptor. */
  readonly signing: { readonly privateKey: KeyObject; readonly publicJwk: PublicJwk };
  /** X25519: envelopes are encrypted to it. */
  readonly encryption: { readonly privateKey: KeyObject; readonly publicJwk: PublicJwk };
  /**
   * Every X25519 private key an envelope to this node may be sealed to: the current one and,
   * during a rotation's overlap, the previous ones (src/app/keyring.ts). Absent: the current only.
   */
  readonly decryptionKeys?: () => readonly KeyObject[];
}

/** The `format` member of a node key file; `version` is 1. */
export const NODE_KEYS_FORMAT = "accord-node-keys";

const NODE_CRYPTO_TYPE = { Ed25519: "ed25519", X25519: "x25519" } as const;
const KEY_BYTES = 32;
const MAX_KEY_FILE_CHARS = 64 * 1024;
const MAX_KID_CHARS = 256;
const JWK_USE = { Ed25519: "sig", X25519: "enc" } as const;
const JWK_ALGS = { Ed25519: ["EdDSA", "Ed25519"], X25519: ["ECDH-ES"] } as const;

export function generateNodeKeys(): NodeKeys {
  return nodeKeysOf(
    generateKeyPairSync("ed25519").privateKey,
    generateKeyPairSync("x25519").privateKey,
  );
}

/**
 * Serialise both private keys as private OKP JWKs (RFC 8037 §2: `d` is the 32-byte private key,
 * `x` the public key) inside one JSON document:
 * `{"format":"accord-node-keys","version":1,"signing":{jwk},"encryption":{jwk}}`.
 * The text is secret: the caller writes it to a file only its owner can read (0600).
 */
export function exportNodeKeys(keys: NodeKeys): string {
  assertPrivateKey(keys.signing.privateKey, "Ed25519", "keys.signing.privateKey");
  assertPrivateKey(keys.encryption.privateKey, "X25519", "keys.encryption.privateKey");
  const doc = {
    format: NODE_KEYS_FORMAT,
    version: 1,
    signing: privateJwkOf(keys.signing.privateKey),
    encryption: privateJwkOf(keys.encryption.privateKey),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Read what `exportNodeKeys` wrote. Throws ERR_KEYS_INVALID, never quoting the text. */
export function importNodeKeys(text: string): NodeKeys {
  if (typeof text !== "string" || text.length > MAX_KEY_FILE_CHARS) {
    throw keysInvalid("the key file is not an accord node key file");
  }
  const doc = parseJsonObject(new TextEncoder().encode(text));
  if (doc === undefined) throw keysInvalid("the key file is not a JSON object");
  if (
    Object.keys(doc).sort().join(",") !== "encryption,format,signing,version" ||
    doc.format !== NODE_KEYS_FORMAT
  ) {
    throw keysInvalid("the key file is not an accord node key file");
  }
  if (doc.version !== 1) throw keysInvalid("the key file has an unsupported version");
  return nodeKeysOf(
    privateKeyFromJwk(doc.signing, "Ed25519", "signing"),
    privateKeyFromJwk(doc.encryption, "X25519", "encryption"),
  );
}

/**
 * RFC 7638 JWK thumbprint: base64url(SHA-256(the required members `crv`, `kty`, `x` as JSON with
 * sorted names and no whitespace)). For an OKP key that JSON is exactly the RFC 8785 canonical form
 * of `{crv, kty, x}` (RFC 7638 §3.2, RFC 8037 Appendix A.3).
 */
export function jwkThumbprint(jwk: PublicJwk): string {
  const value: unknown = jwk;
  if (typeof value !== "object" || value === null)
    throw keysInvalid("the public key is not a JWK object");
  const { kty, crv, x } = value as Readonly<Record<string, unknown>>;
  if (kty !== "OKP" || !isOkpCurve(crv)) {
    throw keysInvalid("the public key is not an OKP `Ed25519` or `X25519` key");
  }
  if (typeof x !== "string" || decodeB64url(x)?.length !== KEY_BYTES) {
    throw keysInvalid("the public key's `x` is not 32 bytes of base64url");
  }
  return encodeB64url(sha256(canonicalize({ crv, kty, x })));
}

/**
 * Validate a public JWK received from a partner (attacker-controlled). Unknown members are ignored
 * (RFC 7517 §4) and dropped; `use` and `alg`, when present, must fit the curve; private members
 * are refused. Returns a fresh frozen `{kty, crv, x, kid?}`.
 */
export function parsePublicJwk(value: unknown, crv: OkpCurve): PublicJwk {
  if (!isOkpCurve(crv)) {
    throw new TypeError("parsePublicJwk: crv must be `Ed25519` or `X25519`");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw keysInvalid("the public key is not a JWK object");
  }
  const jwk = value as Readonly<Record<string, unknown>>;
  if (jwk.kty !== "OKP" || jwk.crv !== crv) {
    throw keysInvalid(`the public key is not an OKP \`${crv}\` key`);
  }
  if (Object.hasOwn(jwk, "d")) throw keysInvalid("the public key holds private key material");
  const x = jwk.x;
  if (typeof x !== "string" || decodeB64url(x)?.length !== KEY_BYTES) {
    throw keysInvalid("the public key's `x` is not 32 bytes of base64url");
  }
  const kid = jwk.kid;
  if (
    kid !== undefined &&
    (typeof kid !== "string" || kid.length === 0 || kid.length > MAX_KID_CHARS)
  ) {
    throw keysInvalid("the public key's `kid` is not a short string");
  }
  if (jwk.use !== undefined && jwk.use !== JWK_USE[crv]) {
    throw keysInvalid("the public key's `use` does not fit its curve");
  }
  if (jwk.alg !== undefined && !(JWK_ALGS[crv] as readonly unknown[]).includes(jwk.alg)) {
    throw keysInvalid("the public key's `alg` does not fit its curve");
  }
  checkedKey(crv, x);
  return freezeJwk(crv, x, kid);
}

// ---------------------------------------------------------------------------------------------
// Helpers for the sibling modules (envelope, receipt, sign). Not re-exported by index.ts.

/**
 * A KeyObject and the RFC 7638 thumbprint for a validated public JWK. Throws ERR_KEYS_INVALID
 * like parsePublicJwk.
 */
export function publicKeyObject(
  jwk: unknown,
  crv: OkpCurve,
): { key: KeyObject; jwk: PublicJwk; thumbprint: string } {
  const checked = parsePublicJwk(jwk, crv);
  const { key, thumbprint } = checkedKey(crv, checked.x);
  return { key, jwk: checked, thumbprint };
}

/** Programmer misuse guard: `key` must be a private KeyObject on `crv`. */
export function assertPrivateKey(
  key: unknown,
  crv: OkpCurve,
  name: string,
): asserts key is KeyObject {
  if (!(key instanceof KeyObject) || key.type !== "private") {
    throw new TypeError(`${name} must be a private KeyObject`);
  }
  if (key.asymmetricKeyType !== NODE_CRYPTO_TYPE[crv]) {
    throw new TypeError(`${name} must be an ${crv} key`);
  }
}

const ownThumbprints = new WeakMap<KeyObject, string>();

/** The RFC 7638 thumbprint of a private or public KeyObject's public key: its JOSE `kid`. */
export function thumbprintOfKey(key: KeyObject, crv: OkpCurve): string {
  if (key.asymmetricKeyType !== NODE_CRYPTO_TYPE[crv]) {
    throw new TypeError(`the key must be an ${crv} key`);
  }
  let thumbprint = ownThumbprints.get(key);
  if (thumbprint === undefined) {
    thumbprint = jwkThumbprint(publicJwkOf(key, crv));
    ownThumbprints.set(key, thumbprint);
  }
  return thumbprint;
}

/** The public JWK (with `kid` = its RFC 7638 thumbprint) of a private or public KeyObject. */
export function publicJwkOf(key: KeyObject, crv: OkpCurve): PublicJwk {
  if (key.asymmetricKeyType !== NODE_CRYPTO_TYPE[crv]) {
    throw new TypeError(`the key must be an ${crv} key`);
  }
  const pub = key.type === "public" ? key : createPublicKey(key);
  const x = pub.export({ format: "jwk" }).x;
  if (typeof x !== "string") throw new TypeError("the key has no public part");
  const bare = freezeJwk(crv, x, undefined);
  return freezeJwk(crv, x, jwkThumbprint(bare));
}

// ---------------------------------------------------------------------------------------------

function nodeKeysOf(signing: KeyObject, encryption: KeyObject): NodeKeys {
  return Object.freeze({
    signing: Object.freeze({ privateKey: signing, publicJwk: publicJwkOf(signing, "Ed25519") }),
    encryption: Object.freeze({
      privateKey: encryption,
      publicJwk: publicJwkOf(encryption, "X25519"),
    }),
  });
}

function freezeJwk(crv: OkpCurve, x: string, kid: string | undefined): PublicJwk {
  return Object.freeze(kid === undefined ? { kty: "OKP", crv, x } : { kty: "OKP", crv, x, kid });
}

function privateJwkOf(key: KeyObject): { kty: string; crv: string; x: string; d: string } {
  const jwk = key.export({ format: "jwk" });
  if (
    typeof jwk.kty !== "string" ||
    typeof jwk.crv !== "string" ||
    typeof jwk.x !== "string" ||
    typeof jwk.d !== "string"
  ) {
    throw new TypeError("the key cannot be exported as a private OKP JWK");
  }
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, d: jwk.d };
}

/** A private key from the key file (untrusted text): exact members, checked x. */
function privateKeyFromJwk(
  value: unknown,
  crv: OkpCurve,
  role: "signing" | "encryption",
): KeyObject {
  const bad = (): AccordError => keysInvalid(`the ${role} key in the key file is invalid`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad();
  const jwk = value as Readonly<Record<string, unknown>>;
  if (Object.keys(jwk).sort().join(",") !== "crv,d,kty,x") throw bad();
  const { kty, x, d } = jwk;
  if (kty !== "OKP" || jwk.crv !== crv || typeof x !== "string" || typeof d !== "string") {
    throw bad();
  }
  if (decodeB64url(x)?.length !== KEY_BYTES || decodeB64url(d)?.length !== KEY_BYTES) throw bad();
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty, crv, x, d }, format: "jwk" });
  } catch {
    throw bad();
  }
  if (createPublicKey(key).export({ format: "jwk" }).x !== x) {
    throw keysInvalid(`the ${role} key in the key file does not match its public key`);
  }
  return key;
}

/**
 * Public keys already imported and checked, by curve and `x` (public data only), so that pinned
 * partner keys are not re-imported and re-checked for every envelope. Bounded; oldest out first.
 */
const checkedKeys = new Map<string, { key: KeyObject; thumbprint: string }>();
const CHECKED_KEYS_MAX = 1024;

/** Import `x` (already 32 canonical bytes) on `crv`, refuse low-order X25519 points, cache. */
function checkedKey(crv: OkpCurve, x: string): { key: KeyObject; thumbprint: string } {
  const id = `${crv}.${x}`;
  const hit = checkedKeys.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: { kty: "OKP", crv, x }, format: "jwk" });
  } catch {
    throw keysInvalid(`the public key is not a valid \`${crv}\` key`);
  }
  if (crv === "X25519" && hasSmallOrder(key)) {
    throw keysInvalid("the public key is a low-order X25519 point");
  }
  const entry = { key, thumbprint: jwkThumbprint(freezeJwk(crv, x, undefined)) };
  if (checkedKeys.size >= CHECKED_KEYS_MAX) {
    const oldest = checkedKeys.keys().next();
    if (oldest.done !== true) checkedKeys.delete(oldest.value);
  }
  checkedKeys.set(id, entry);
  return entry;
}

let probe: KeyObject | undefined;

/**
 * A point of order 1, 2, 4 or 8 gives the all-zero shared secret with every clamped scalar (those
 * are multiples of 8), and no other point does for a random scalar. OpenSSL refuses to return an
 * all-zero X25519 output, so either outcome marks the point.
 */
function hasSmallOrder(publicKey: KeyObject): boolean {
  probe ??= generateKeyPairSync("x25519").privateKey;
  try {
    return diffieHellman({ privateKey: probe, publicKey }).every((b) => b === 0);
  } catch {
    return true;
  }
}

function isOkpCurve(value: unknown): value is OkpCurve {
  return value === "Ed25519" || value === "X25519";
}

function keysInvalid(message: string): AccordError {
  return new AccordError("ERR_KEYS_INVALID", message);
}
