/**
 * Keyed digests for the transparency log (spec/log.md, "Keyed digests"). Every partner can read a
 * node's log, so a digest of short operator text (a recall's reason, a follow-up request's legal
 * basis) must not be a plain SHA-256 anyone can confirm a guess against, and an officer's name
 * must not appear at all. Both are HMAC-SHA-256 under keys derived from the node's log-digest
 * secret (32 random bytes beside its keys, created on first start, never sent or logged):
 *
 *   text key    = HKDF-SHA-256(secret, salt "accord/log-digest/v1", info "text", 32)
 *   officer key = HKDF-SHA-256(secret, salt "accord/log-digest/v1", info "officer", 32)
 *   text digest = hex HMAC-SHA-256(text key, purpose || 0x00 || UTF-8 text)
 *   officer     = "officer:v1:" || base64url(first 16 bytes of HMAC-SHA-256(officer key, UTF-8 name))
 *
 * The purpose (`recall-reason`, `legal-basis`) separates the texts, so one reason's digest never
 * stands for the same words as a legal basis. Two sibling keys let the node hand an oversight
 * body the text key (to check texts itself) without also handing it the power to test names.
 *
 * Risks: anyone holding a key can test guesses offline, so the keys stay on the node; an oversight
 * body checks a claimed text by asking the node over the authenticated API (src/server/log-routes.ts).
 * Vectors: spec/vectors/log-kinds.json `keyedDigests` (computed with Python's hmac and hashlib).
 */
import { createHmac, hkdfSync } from "node:crypto";

/** Bytes of the node's log-digest secret. */
export const LOG_DIGEST_SECRET_BYTES = 32;

/** The texts a log entry carries a keyed digest of, each its own domain. */
export type LogTextPurpose = "recall-reason" | "legal-basis";
export const LOG_TEXT_PURPOSES: readonly LogTextPurpose[] = ["recall-reason", "legal-basis"];

/** An officer's pseudonym as log entries carry it. */
export const OFFICER_PSEUDONYM = /^officer:v1:[A-Za-z0-9_-]{22}$/;

const SALT = "accord/log-digest/v1";

/** The node's keyed digests for its log; built once from the secret. */
export class LogDigests {
  readonly #text: Buffer;
  readonly #officer: Buffer;

  constructor(secret: Uint8Array) {
    if (!(secret instanceof Uint8Array) || secret.length < LOG_DIGEST_SECRET_BYTES)
      throw new RangeError(
        `the log-digest secret must be at least ${String(LOG_DIGEST_SECRET_BYTES)} bytes`,
      );
    const key = (info: string): Buffer =>
      Buffer.from(hkdfSync("sha256", secret, SALT, info, LOG_DIGEST_SECRET_BYTES));
    this.#text = key("text");
    this.#officer = key("officer");
  }

  /** Lower-case hex HMAC-SHA-256 of `text` (exactly as recorded) for `purpose`. */
  text(purpose: LogTextPurpose, text: string): string {
    return createHmac("sha256", this.#text).update(`${purpose}\x00${text}`, "utf8").digest("hex");
  }

  /** The pseudonym an officer of this name is logged under (the same name, the same pseudonym). */
  officer(name: string): string {
    const mac = createHmac("sha256", this.#officer).update(name, "utf8").digest();
    return `officer:v1:${mac.subarray(0, 16).toString("base64url")}`;
  }
}
