/**
 * HTTP Message Signatures (RFC 9421) with Ed25519 (§3.3.6, `alg="ed25519"`), and the
 * `Content-Digest` field (RFC 9530, `sha-256`) that lets a signature cover a request body.
 *
 * Pure: no I/O, no clock. A message is described by `HttpMessageParts` (method, target URI and
 * header fields); the caller (the peer client, the server's verification hook) builds it.
 *
 *   sign:   components + params -> `@signature-params` (RFC 8941 inner list) -> signature base
 *           (§2.5) -> Ed25519 -> `Signature-Input` and `Signature` dictionary members
 *   verify: strict parse of both fields -> re-serialise the params and require the same text
 *           (one spelling per signature) -> rebuild the base from the message -> Ed25519 verify
 *
 * Supported components: the derived `@method`, `@target-uri`, `@authority`, `@scheme`, `@path`,
 * `@query` (§2.2) and plain header fields by lower-case name (§2.1, values trimmed, repeated values
 * joined by ", "). Component parameters (`;sf`, `;key`, `;req`, `;bs`, `;tr`) are refused: Accord
 * never emits them, and refusing keeps the attacker-controlled parser small.
 *
 * Risks and answers:
 * - The fields are attacker-controlled: lengths are bounded, the grammar is a strict subset of
 *   RFC 8941 (strings, integers, byte sequences), and any oddity makes the parse fail as a whole.
 * - A component the signer did not cover cannot be trusted: the profile (what must be covered,
 *   which tag, how fresh) is the caller's to enforce on the parsed result, before it acts.
 * - A missing component makes signing throw and verification fail; it is never signed as empty.
 */
import { createHash, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";

/** What a signature covers of a request. Header names are matched case-insensitively. */
export interface HttpMessageParts {
  readonly method: string;
  /** The absolute target URI, e.g. `http://127.0.0.1:7402/federation/v1/inbox`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

/** Signature parameters (§2.3), serialised in this order when present. */
export interface SignatureParams {
  readonly created?: number;
  readonly expires?: number;
  readonly nonce?: string;
  readonly keyid?: string;
  readonly alg?: string;
  readonly tag?: string;
}

const PARAM_ORDER = ["created", "expires", "nonce", "keyid", "alg", "tag"] as const;
const INTEGER_PARAMS = new Set(["created", "expires"]);

/** One signature as read from `Signature-Input` and `Signature`. */
export interface ParsedSignature {
  readonly label: string;
  /** Covered component identifiers in order, e.g. `["@method", "content-digest"]`. */
  readonly components: readonly string[];
  readonly params: SignatureParams;
  /** The parameters in the order they were sent, as re-serialised for the signature base. */
  readonly paramsText: string;
  readonly signature: Uint8Array;
}

/** Largest `Signature-Input` or `Signature` field value read (ours are ~300 bytes). */
export const MAX_SIGNATURE_FIELD_CHARS = 4096;
const MAX_STRING_CHARS = 512;
const LABEL = /^[a-z*][a-z0-9_\-.*]{0,63}$/;
const COMPONENT = /^@?[a-z0-9!#$%&'*+\-.^_`|~]{1,64}$/;
const DERIVED = new Set(["@method", "@target-uri", "@authority", "@scheme", "@path", "@query"]);

// ------------------------------------------------------------------ Content-Digest (RFC 9530)

/** `sha-256=:<base64>:` for a body (RFC 9530 §2). */
export function contentDigest(body: string | Uint8Array): string {
  return `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
}

/**
 * The SHA-256 digest a `Content-Digest` field value claims, or undefined when the field is not a
 * dictionary Accord can read or holds no `sha-256` member. Other algorithms are ignored (§2).
 */
export function claimedSha256(field: string): Uint8Array | undefined {
  if (field.length > MAX_SIGNATURE_FIELD_CHARS) return undefined;
  const members = parseDictionary(field);
  if (members === undefined) return undefined;
  const m = members.find((x) => x.key === "sha-256");
  if (m?.kind !== "bytes" || m.bytes.length !== 32) return undefined;
  return m.bytes;
}

// ------------------------------------------------------------------ signing

/** The RFC 8941 serialisation of the inner list and its parameters: the `@signature-params` value. */
export function serializeSignatureParams(
  components: readonly string[],
  params: SignatureParams,
  order: readonly string[] = PARAM_ORDER,
): string {
  for (const c of components)
    if (!COMPONENT.test(c)) throw new RangeError(`http-signature: bad component \`${c}\``);
  let text = `(${components.map((c) => `"${c}"`).join(" ")})`;
  for (const name of order) {
    const value = (params as Readonly<Record<string, string | number | undefined>>)[name];
    if (value === undefined) continue;
    if (INTEGER_PARAMS.has(name)) {
      if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0)
        throw new RangeError(`http-signature: \`${name}\` must be a non-negative integer`);
      text += `;${name}=${String(value)}`;
    } else {
      if (typeof value !== "string" || !isSfStringContent(value))
        throw new RangeError(`http-signature: \`${name}\` must be a printable ASCII string`);
      text += `;${name}="${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    }
  }
  return text;
}

/**
 * The signature base (§2.5): one line per covered component, then the `@signature-params` line.
 * Returns undefined when a covered component is missing from the message.
 */
export function signatureBase(
  msg: HttpMessageParts,
  components: readonly string[],
  paramsText: string,
): string | undefined {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c)) return undefined; // §2.5: a component appears at most once
    seen.add(c);
    const value = componentValue(msg, c);
    if (value === undefined) return undefined;
    lines.push(`"${c}": ${value}`);
  }
  lines.push(`"@signature-params": ${paramsText}`);
  return lines.join("\n");
}

/** Sign a message: returns the values for the `Signature-Input` and `Signature` fields. */
export function signMessage(
  msg: HttpMessageParts,
  opts: {
    readonly label: string;
    readonly components: readonly string[];
    readonly params: SignatureParams;
    readonly key: KeyObject;
  },
): { signatureInput: string; signature: string } {
  if (!LABEL.test(opts.label)) throw new RangeError("http-signature: bad label");
  if (opts.key.type !== "private" || opts.key.asymmetricKeyType !== "ed25519")
    throw new TypeError("http-signature: the key must be a private Ed25519 KeyObject");
  const paramsText = serializeSignatureParams(opts.components, opts.params);
  const base = signatureBase(msg, opts.components, paramsText);
  if (base === undefined)
    throw new RangeError("http-signature: a covered component is missing from the message");
  const sig = edSign(null, Buffer.from(base, "utf8"), opts.key);
  return {
    signatureInput: `${opts.label}=${paramsText}`,
    signature: `${opts.label}=:${sig.toString("base64")}:`,
  };
}

// ------------------------------------------------------------------ verifying

/**
 * Read every signature from the two fields (attacker-controlled). Returns undefined when either
 * field is malformed, when a label appears in one but not the other, or when a signature is not
 * 64 bytes.
 */
export function parseSignatures(
  signatureInput: string,
  signature: string,
): ParsedSignature[] | undefined {
  if (
    signatureInput.length > MAX_SIGNATURE_FIELD_CHARS ||
    signature.length > MAX_SIGNATURE_FIELD_CHARS
  )
    return undefined;
  const inputs = parseDictionary(signatureInput);
  const sigs = parseDictionary(signature);
  if (inputs === undefined || sigs?.length !== inputs.length) return undefined;
  const out: ParsedSignature[] = [];
  for (const input of inputs) {
    if (input.kind !== "list") return undefined;
    const sig = sigs.find((s) => s.key === input.key);
    if (sig?.kind !== "bytes" || sig.bytes.length !== 64) return undefined;
    const params: { -readonly [K in keyof SignatureParams]: SignatureParams[K] } = {};
    for (const [name, value] of input.params) {
      if (!(PARAM_ORDER as readonly string[]).includes(name)) return undefined;
      if (INTEGER_PARAMS.has(name) !== (typeof value === "number")) return undefined;
      (params as Record<string, string | number>)[name] = value;
    }
    let paramsText: string;
    try {
      paramsText = serializeSignatureParams(
        input.items,
        params,
        input.params.map(([n]) => n),
      );
    } catch {
      return undefined;
    }
    out.push({
      label: input.key,
      components: input.items,
      params,
      paramsText,
      signature: sig.bytes,
    });
  }
  return out;
}

/** True iff `parsed` is a valid Ed25519 signature by `publicKey` over `msg`'s signature base. */
export function verifyMessage(
  msg: HttpMessageParts,
  parsed: ParsedSignature,
  publicKey: KeyObject,
): boolean {
  if (publicKey.asymmetricKeyType !== "ed25519") return false;
  const base = signatureBase(msg, parsed.components, parsed.paramsText);
  if (base === undefined) return false;
  try {
    return edVerify(null, Buffer.from(base, "utf8"), publicKey, parsed.signature);
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ components

function componentValue(msg: HttpMessageParts, name: string): string | undefined {
  if (name.startsWith("@")) {
    if (!DERIVED.has(name)) return undefined;
    let url: URL;
    try {
      url = new URL(msg.url);
    } catch {
      return undefined;
    }
    switch (name) {
      case "@method":
        return msg.method;
      case "@target-uri":
        return url.href;
      case "@authority":
        return url.host.toLowerCase();
      case "@scheme":
        return url.protocol.slice(0, -1).toLowerCase();
      case "@path":
        return url.pathname === "" ? "/" : url.pathname;
      case "@query":
        return url.search === "" ? "?" : url.search;
      default:
        return undefined;
    }
  }
  const raw = headerOf(msg.headers, name);
  if (raw === undefined) return undefined;
  const values = (typeof raw === "string" ? [raw] : raw).map((v) => v.trim());
  const joined = values.join(", ");
  // A field value that would break the base's line structure is refused (§2.1).
  return /[\r\n]/.test(joined) ? undefined : joined;
}

function headerOf(
  headers: HttpMessageParts["headers"],
  name: string,
): string | readonly string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

// ------------------------------------------------------------------ RFC 8941, the subset we read

type Member =
  | {
      readonly key: string;
      readonly kind: "list";
      readonly items: string[];
      readonly params: [string, string | number][];
    }
  | { readonly key: string; readonly kind: "bytes"; readonly bytes: Uint8Array };

/**
 * A dictionary whose members are inner lists of strings (with string or integer parameters) or
 * byte sequences. Duplicate keys, parameters on byte sequences or list items, and anything else
 * outside that subset make the whole parse fail.
 */
function parseDictionary(text: string): Member[] | undefined {
  let i = 0;
  const out: Member[] = [];
  const skipOws = () => {
    while (text[i] === " " || text[i] === "\t") i++;
  };
  const key = (): string | undefined => {
    const m = /^[a-z*][a-z0-9_\-.*]{0,63}/.exec(text.slice(i, i + 64));
    if (m === null) return undefined;
    i += m[0].length;
    return m[0];
  };
  const sfString = (): string | undefined => {
    if (text[i] !== '"') return undefined;
    i++;
    let s = "";
    while (i < text.length) {
      const ch = text[i] ?? "";
      if (ch === "\\") {
        const next = text[i + 1];
        if (next !== '"' && next !== "\\") return undefined;
        s += next;
        i += 2;
      } else if (ch === '"') {
        i++;
        return s.length > MAX_STRING_CHARS ? undefined : s;
      } else {
        const code = ch.charCodeAt(0);
        if (code < 0x20 || code > 0x7e) return undefined;
        s += ch;
        i++;
      }
    }
    return undefined;
  };
  const integer = (): number | undefined => {
    const m = /^[0-9]{1,15}/.exec(text.slice(i, i + 16));
    if (m === null) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  while (i < text.length) {
    const k = key();
    if (k === undefined || text[i] !== "=" || out.some((o) => o.key === k)) return undefined;
    i++;
    if (text[i] === ":") {
      const end = text.indexOf(":", i + 1);
      if (end === -1) return undefined;
      const b64 = text.slice(i + 1, end);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
      const bytes = Buffer.from(b64, "base64");
      if (bytes.toString("base64") !== b64) return undefined;
      out.push({ key: k, kind: "bytes", bytes: new Uint8Array(bytes) });
      i = end + 1;
    } else if (text[i] === "(") {
      i++;
      const items: string[] = [];
      while (text[i] !== ")") {
        if (items.length > 0) {
          if (text[i] !== " ") return undefined;
          while (text[i] === " ") i++;
        }
        const s = sfString();
        if (s === undefined || !COMPONENT.test(s) || items.length >= 32) return undefined;
        items.push(s);
      }
      i++;
      const params: [string, string | number][] = [];
      while (text[i] === ";") {
        i++;
        const name = key();
        if (name === undefined || text[i] !== "=" || params.some(([n]) => n === name))
          return undefined;
        i++;
        const value = text[i] === '"' ? sfString() : integer();
        if (value === undefined) return undefined;
        params.push([name, value]);
      }
      out.push({ key: k, kind: "list", items, params });
    } else return undefined;
    skipOws();
    if (i >= text.length) break;
    if (text[i] !== ",") return undefined;
    i++;
    skipOws();
    if (i >= text.length) return undefined; // trailing comma
  }
  return out.length === 0 ? undefined : out;
}

function isSfStringContent(s: string): boolean {
  if (s.length > MAX_STRING_CHARS) return false;
  for (let j = 0; j < s.length; j++) {
    const code = s.charCodeAt(j);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}
