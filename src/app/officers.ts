/**
 * Officers: the people who decide follow-up requests after a hit (spec/match.md, "Decision
 * rights"). Each officer has a name, the roles the node's operator gave them, and their own
 * secret token; the node keeps only the SHA-256 of each token (accord.yaml `officers`). The role
 * that approves or refuses a request is the role of the officer whose token was presented,
 * never a role a caller names.
 *
 * Risks: tokens are compared as SHA-256 digests with `timingSafeEqual`, every configured officer
 * each time, so the comparison does not reveal which entry (or how much of it) matched. A token
 * never reaches a log line or the ledger, and neither does the officer's name: every partner can
 * read the log, so who decided is on the record as the officer's keyed pseudonym
 * (src/core/log-digest.ts), which this directory resolves back to a name for the node's own
 * operator and oversight (spec/log.md, "Keyed digests").
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { LogDigests } from "../core/log-digest.js";

export interface Officer {
  readonly name: string;
  readonly roles: readonly string[];
}

/** An officer as the node knows them at run time: with the pseudonym the log names them by. */
export interface KnownOfficer extends Officer {
  readonly pseudonym: string;
}

export interface OfficerEntry extends Officer {
  /** Lower-case hex SHA-256 of the officer's token (UTF-8). */
  readonly tokenSha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The SHA-256 of a token, as `token_sha256` holds it. */
export function officerTokenHash(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** A fresh officer token: 32 random bytes, base64url (43 characters). */
export function newOfficerToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The officers a node knows; built once from the configuration. */
export class OfficerDirectory {
  readonly #entries: readonly { officer: KnownOfficer; digest: Buffer }[];

  constructor(entries: readonly OfficerEntry[], digests: LogDigests) {
    const names = new Set<string>();
    const hashes = new Set<string>();
    this.#entries = entries.map((e) => {
      if (!HEX64.test(e.tokenSha256))
        throw new RangeError(`officer \`${e.name}\`: token_sha256 is not 64 lower-case hex digits`);
      if (names.has(e.name)) throw new RangeError(`officer \`${e.name}\` is named twice`);
      if (hashes.has(e.tokenSha256))
        throw new RangeError(`officer \`${e.name}\` shares its token with another officer`);
      names.add(e.name);
      hashes.add(e.tokenSha256);
      return {
        officer: Object.freeze({
          name: e.name,
          roles: Object.freeze([...e.roles]),
          pseudonym: digests.officer(e.name),
        }),
        digest: Buffer.from(e.tokenSha256, "hex"),
      };
    });
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The officer whose token this is, or undefined. Every entry is compared, in constant time. */
  authenticate(token: string): KnownOfficer | undefined {
    const given = createHash("sha256").update(token, "utf8").digest();
    let found: KnownOfficer | undefined;
    for (const e of this.#entries) if (timingSafeEqual(given, e.digest)) found ??= e.officer;
    return found;
  }

  /** Every configured officer with their pseudonym, in configuration order. */
  list(): readonly KnownOfficer[] {
    return this.#entries.map((e) => e.officer);
  }

  /**
   * The name of the configured officer a pseudonym stands for, or undefined (an officer since
   * removed from accord.yaml, or a pseudonym made under another log-digest secret).
   */
  resolve(pseudonym: string): string | undefined {
    return this.#entries.find((e) => e.officer.pseudonym === pseudonym)?.officer.name;
  }
}
