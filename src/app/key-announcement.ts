/**
 * Key announcements (spec/federation.md, "Key rotation"): the signed statement a node sends every
 * partner when it rotates, retires or revokes a key, and the partner's signed acknowledgement.
 *
 *   { "body": { "accord": "key-announcement/1", "id", "node", "event": "rotate"|"retire"|"revoke",
 *               "at", "key": {signing, encryption}, "successor"?: {signing, encryption},
 *               "valid_until"?, "signed_by": <fingerprint> },
 *     "signatures": { <fingerprint>: <compact JWS over the RFC 8785 form of body>, ... } }
 *
 * `signed_by` is always the key the partner has pinned for the node: the outgoing key for a
 * rotation or a revocation of the current key, the current key for a retirement or a revocation
 * of an earlier key. A `successor` signs too, proving its holder has the private key. Everything
 * here is pure over its inputs; the partner's state is read and written by ./key-rotation.ts.
 */
import { AccordError } from "../errors.js";
import { jwkThumbprint, parsePublicJwk, type PublicJwk } from "../crypto/keys.js";
import { signJson, verifyJson } from "../crypto/sign.js";
import type { KeyObject } from "node:crypto";

export const ANNOUNCEMENT_FORMAT = "key-announcement/1";
export const ACK_FORMAT = "key-announcement-ack/1";
const MAX_ANNOUNCEMENT_CHARS = 16 * 1024;

export type KeyEvent = "rotate" | "retire" | "revoke";

export interface KeyPairPublic {
  readonly signing: PublicJwk;
  readonly encryption: PublicJwk;
}

export interface AnnouncementBody {
  readonly accord: typeof ANNOUNCEMENT_FORMAT;
  readonly id: string;
  readonly node: string;
  readonly event: KeyEvent;
  readonly at: string;
  /** The key the event is about: the outgoing, retired or revoked one. */
  readonly key: KeyPairPublic;
  /** The new current key (a rotation, or a revocation of the current key). */
  readonly successor?: KeyPairPublic;
  /** A rotation: the end of the overlap, until which `key` is still valid. */
  readonly valid_until?: string;
  /** Fingerprint of the key the partner already knows, which signs the announcement. */
  readonly signed_by: string;
}

export interface Announcement {
  readonly body: AnnouncementBody;
  readonly signatures: Readonly<Record<string, string>>;
}

/** The public halves of a pair, bare (`kty`, `crv`, `x`): what announcements carry. */
export function bare(jwk: PublicJwk): PublicJwk {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x };
}

/** Sign `body` with the key it names (`signed_by`) and, when there is one, the successor's. */
export async function signAnnouncement(
  body: AnnouncementBody,
  knownKey: KeyObject,
  successorKey?: KeyObject,
): Promise<Announcement> {
  const signatures: Record<string, string> = {
    [body.signed_by]: await signJson(body, knownKey),
  };
  if (body.successor !== undefined) {
    if (successorKey === undefined) throw new TypeError("a successor must sign its announcement");
    signatures[jwkThumbprint(body.successor.signing)] = await signJson(body, successorKey);
  }
  return { body, signatures };
}

/** Parse an announcement received from a partner (attacker-controlled). Throws ERR_BAD_REQUEST. */
export function parseAnnouncement(raw: unknown): Announcement {
  const bad = (what: string): AccordError =>
    new AccordError("ERR_BAD_REQUEST", `the key announcement is invalid: ${what}`);
  if (JSON.stringify(raw ?? null).length > MAX_ANNOUNCEMENT_CHARS) throw bad("it is too large");
  if (!isObject(raw) || !isObject(raw.body) || !isObject(raw.signatures))
    throw bad("it needs `body` and `signatures` objects");
  const b = raw.body;
  if (b.accord !== ANNOUNCEMENT_FORMAT) throw bad(`\`accord\` must be \`${ANNOUNCEMENT_FORMAT}\``);
  for (const f of ["id", "node", "at", "signed_by"] as const)
    if (typeof b[f] !== "string" || b[f] === "") throw bad(`\`${f}\` must be a non-empty string`);
  if (b.event !== "rotate" && b.event !== "retire" && b.event !== "revoke")
    throw bad("`event` must be `rotate`, `retire` or `revoke`");
  if (Number.isNaN(Date.parse(b.at as string))) throw bad("`at` is not a time");
  const pair = (v: unknown, name: string): KeyPairPublic => {
    if (!isObject(v)) throw bad(`\`${name}\` must hold \`signing\` and \`encryption\` keys`);
    return {
      signing: bare(parsePublicJwk(v.signing, "Ed25519")),
      encryption: bare(parsePublicJwk(v.encryption, "X25519")),
    };
  };
  const successor = b.successor === undefined ? undefined : pair(b.successor, "successor");
  if ((b.event === "rotate") !== (successor !== undefined) && b.event !== "revoke")
    throw bad("a rotation names a `successor`; a retirement does not");
  if (
    b.event === "rotate" &&
    (typeof b.valid_until !== "string" || Number.isNaN(Date.parse(b.valid_until)))
  )
    throw bad("a rotation needs `valid_until`");
  const signatures: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.signatures)) {
    if (typeof v !== "string") throw bad("every signature is a compact JWS string");
    signatures[k] = v;
  }
  const body: AnnouncementBody = {
    accord: ANNOUNCEMENT_FORMAT,
    id: b.id as string,
    node: b.node as string,
    event: b.event,
    at: b.at as string,
    key: pair(b.key, "key"),
    ...(successor === undefined ? {} : { successor }),
    ...(typeof b.valid_until === "string" ? { valid_until: b.valid_until } : {}),
    signed_by: b.signed_by as string,
  };
  return { body, signatures };
}

/**
 * Check an announcement against the key this partner has pinned for its node. Returns a reason
 * in words when it must be refused, undefined when both signatures hold.
 */
export async function checkAnnouncement(
  a: Announcement,
  pinned: PublicJwk,
): Promise<string | undefined> {
  const pinnedFp = jwkThumbprint(pinned);
  const { body } = a;
  if (body.signed_by !== pinnedFp)
    return `it is signed by key ${body.signed_by}, not by the key known for \`${body.node}\``;
  const aboutCurrent = jwkThumbprint(body.key.signing) === pinnedFp;
  if (
    (body.event === "rotate" || (body.event === "revoke" && aboutCurrent)) !==
    (body.successor !== undefined)
  )
    return body.successor === undefined
      ? "it changes the known key but names no successor"
      : "it names a successor for a key that is not the current one";
  if (body.event === "retire" && aboutCurrent) return "it retires the current key";
  const own = a.signatures[pinnedFp];
  if (own === undefined || !(await verifyJson(own, body, pinned)))
    return "its signature by the known key does not verify";
  if (body.successor !== undefined) {
    const fp = jwkThumbprint(body.successor.signing);
    if (fp === pinnedFp) return "the successor is the same key";
    const sig = a.signatures[fp];
    if (sig === undefined || !(await verifyJson(sig, body, body.successor.signing)))
      return "the successor's signature does not verify (no proof of possession)";
  }
  return undefined;
}

export interface AckBody {
  readonly accord: typeof ACK_FORMAT;
  /** The announcement acknowledged. */
  readonly id: string;
  /** The partner that acknowledges. */
  readonly by: string;
  /** The node whose key the announcement was about. */
  readonly node: string;
  readonly at: string;
}

/** The partner's signed acknowledgement: `{body, signature}`. */
export async function signAck(
  body: AckBody,
  key: KeyObject,
): Promise<{ body: AckBody; signature: string }> {
  return { body, signature: await signJson(body, key) };
}

/** Check an acknowledgement from `partner` (its pinned key) for announcement `id`. */
export async function checkAck(
  raw: unknown,
  expect: { id: string; by: string; node: string },
  partnerKey: PublicJwk,
): Promise<boolean> {
  if (!isObject(raw) || !isObject(raw.body) || typeof raw.signature !== "string") return false;
  const b = raw.body;
  if (b.accord !== ACK_FORMAT || b.id !== expect.id || b.by !== expect.by || b.node !== expect.node)
    return false;
  return verifyJson(raw.signature, b, partnerKey).catch(() => false);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
