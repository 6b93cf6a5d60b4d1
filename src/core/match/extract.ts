/**
 * Which identifiers a STIX object holds, for hit/no-hit matching (spec/match.md §scope), and which
 * STIX type a query on each identifier kind is authorised as.
 *
 * Agreements name the STIX types that may be matched (`queries.types`); a query is about an
 * identifier kind. The decision engine is asked about the type where that kind lives:
 *
 *   iban, phone, passport, wallet -> identity     email -> email-addr     file-hash -> file
 *
 * Extraction reads structured properties first (`x_iban`, `email-addr.value`, `file.hashes`,
 * `x_passport`, `x_wallet`), then the free-text `contact_information` of identities (e-mail
 * addresses and phone numbers), then indicator patterns comparing `file:hashes.*` or
 * `email-addr:value` with a literal. Every candidate passes the kind's normaliser; what does not
 * normalise is skipped. Pure: no I/O.
 */
import type { StixObject } from "../stix/object.js";
import {
  IDENTIFIER_KINDS,
  normalizeIdentifier,
  type Identifier,
  type IdentifierKind,
} from "./normalize.js";

/** The STIX type a query on `kind` is decided as (action `query`). */
export const KIND_STIX_TYPE: Readonly<Record<IdentifierKind, string>> = Object.freeze({
  iban: "identity",
  email: "email-addr",
  phone: "identity",
  wallet: "identity",
  passport: "identity",
  "file-hash": "file",
});

/** The identifier kinds an agreement's `queries.types` lets partners ask about. */
export function kindsForTypes(types: readonly string[]): IdentifierKind[] {
  return IDENTIFIER_KINDS.filter((k) => types.includes(KIND_STIX_TYPE[k]));
}

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}/g;
const PHONE_IN_TEXT = /(?:\+|00)[0-9][0-9 ().-]{5,22}[0-9]/g;
const PATTERN_COMPARISON =
  /(file:hashes\.(?:'(?:MD5|SHA-1|SHA-256)'|MD5|SHA1|SHA256)|email-addr:value)\s*=\s*'((?:[^'\\]|\\.){1,256})'/g;

function tryNormalize(kind: IdentifierKind, raw: unknown, out: Map<string, Identifier>): void {
  if (typeof raw !== "string") return;
  try {
    const id = normalizeIdentifier(kind, raw);
    out.set(`${id.kind}\n${id.value}`, id);
  } catch {
    // Not an identifier of this kind: skipped.
  }
}

function strings(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

/** Every identifier of the given kinds that `object` holds, normalised and deduplicated. */
export function identifiersIn(
  object: StixObject,
  kinds: ReadonlySet<IdentifierKind> = new Set(IDENTIFIER_KINDS),
): Identifier[] {
  const o = object as unknown as Record<string, unknown>;
  const out = new Map<string, Identifier>();
  if (kinds.has("iban")) for (const v of strings(o.x_iban)) tryNormalize("iban", v, out);
  if (kinds.has("passport"))
    for (const v of strings(o.x_passport)) tryNormalize("passport", v, out);
  if (kinds.has("wallet")) for (const v of strings(o.x_wallet)) tryNormalize("wallet", v, out);
  if (kinds.has("email") && object.type === "email-addr") tryNormalize("email", o.value, out);
  if (kinds.has("file-hash") && object.type === "file") {
    const hashes = o.hashes;
    if (hashes !== null && typeof hashes === "object")
      for (const v of Object.values(hashes)) tryNormalize("file-hash", v, out);
  }
  const contact = o.contact_information;
  if (object.type === "identity" && typeof contact === "string" && contact.length <= 10_000) {
    if (kinds.has("email"))
      for (const m of contact.matchAll(EMAIL_IN_TEXT)) tryNormalize("email", m[0], out);
    if (kinds.has("phone"))
      for (const m of contact.matchAll(PHONE_IN_TEXT)) tryNormalize("phone", m[0], out);
  }
  const pattern = o.pattern;
  if (object.type === "indicator" && typeof pattern === "string" && pattern.length <= 100_000) {
    for (const m of pattern.matchAll(PATTERN_COMPARISON)) {
      const kind: IdentifierKind = m[1]?.startsWith("file") === true ? "file-hash" : "email";
      if (kinds.has(kind)) tryNormalize(kind, (m[2] ?? "").replace(/\\(.)/g, "$1"), out);
    }
  }
  return [...out.values()];
}

/** True when `object` holds `id` (both normalised the same way). */
export function holdsIdentifier(object: StixObject, id: Identifier): boolean {
  return identifiersIn(object, new Set([id.kind])).some((x) => x.value === id.value);
}
