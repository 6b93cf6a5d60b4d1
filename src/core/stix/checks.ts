/**
 * The small vocabulary the STIX 2.1 validator is written in: a `Check` reads one JSON value at a
 * JSONPath and reports issues into a collector; a `Shape` is an object with typed properties,
 * required properties, cross-property rules and a policy for properties it does not know.
 *
 * Everything is built once at module load (regular expressions, property tables with their path
 * suffixes), so checking an object is a walk over its keys with one map look-up each.
 *
 * Data types follow STIX 2.1 (OASIS Standard) §2: boolean (§2.2), dictionary (§2.3), float
 * (§2.5), hashes (§2.6), hex (§2.7), identifier (§2.8), integer (§2.9), list (§2.11: a list MUST
 * NOT be empty), string (§2.13), timestamp (§2.14); custom properties follow §11.1.
 */
import {
  compareTimestamps,
  identifierType,
  isBase64,
  isDictionaryKey,
  isHashKey,
  isHex,
  isPropertyName,
  timestampFractionDigits,
} from "./formats.js";

/** Stable issue codes; they are public API (spec/stix-validation.md lists each one). */
export type IssueCode =
  | "required"
  | "required-one-of"
  | "type"
  | "empty"
  | "range"
  | "enum"
  | "conflict"
  | "reserved"
  | "id-type"
  | "ref-type"
  | "tlp"
  | "time-order"
  | "duplicate-version"
  | "modified-before-created"
  | "format.timestamp"
  | "format.timestamp-precision"
  | "format.identifier"
  | "format.type-name"
  | "format.property-name"
  | "format.extension-name"
  | "format.dictionary-key"
  | "format.hash"
  | "format.hex"
  | "format.binary"
  | "format.uri"
  | "format.email"
  | "format.hostname"
  | "format.ipv4"
  | "format.ipv6"
  | "format.mac"
  | "format.selector"
  | "format.pattern";

export interface StixIssue {
  /** The `id` of the object the issue is in, when it has a string one. */
  readonly objectId?: string;
  /** JSONPath of the offending value, e.g. `$.objects[3].external_references[0].url`. */
  readonly path: string;
  readonly code: IssueCode;
  /** A lowercase single sentence; user input in backticks. */
  readonly message: string;
}

/** The collector a validation run writes into. */
export class Collector {
  readonly issues: StixIssue[] = [];
  /** The id of the object being checked, attached to every issue. */
  objectId: string | undefined = undefined;
  /** Inside `observed-data.objects`: references there are dictionary keys, not identifiers. */
  embedded = false;

  add(path: string, code: IssueCode, message: string): void {
    const objectId = this.objectId;
    this.issues.push(
      objectId === undefined ? { path, code, message } : { objectId, path, code, message },
    );
  }
}

export type Check = (value: unknown, path: string, cx: Collector) => void;
export type JsonRecord = Readonly<Record<string, unknown>>;
export type Rule = (o: JsonRecord, path: string, cx: Collector) => void;

// ---------------------------------------------------------------- paths and messages

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BACKSLASH = /\\/g;
const QUOTE = /'/g;

/** The JSONPath step for a key: `.name`, or `['SHA-256']` when the key is not a plain name. */
export function step(key: string): string {
  if (SIMPLE_KEY.test(key)) return `.${key}`;
  return `['${key.replace(BACKSLASH, "\\\\").replace(QUOTE, "\\'")}']`;
}

const MAX_QUOTED = 64;

/** User input for a message: in backticks, control characters and backticks as `?`, cut at 64 characters. */
export function q(value: string): string {
  const cut = value.length > MAX_QUOTED ? value.slice(0, MAX_QUOTED) : value;
  let out = "";
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    out += c < 32 || c === 127 || c === 96 ? "?" : cut.charAt(i);
  }
  return `\`${out}${cut.length < value.length ? "…" : ""}\``;
}

/** What a JSON value is, in words, for type messages. */
export function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  switch (typeof v) {
    case "string":
      return "a string";
    case "number":
      return Number.isInteger(v) ? "an integer" : "a number";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return "a value that is not JSON";
  }
}

function typeIssue(cx: Collector, path: string, v: unknown, expected: string): void {
  cx.add(path, "type", `expected ${expected}, found ${kindOf(v)}`);
}

export function isRecord(v: unknown): v is JsonRecord {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Present means defined: JSON has no `undefined`, and an object built in code may hold one. */
function has(o: JsonRecord, key: string): boolean {
  return o[key] !== undefined;
}

function listOfNames(names: readonly string[]): string {
  const quoted = names.map((n) => `\`${n}\``);
  if (quoted.length <= 2) return quoted.join(" or ");
  return `${quoted.slice(0, -1).join(", ")} or ${quoted[quoted.length - 1] ?? ""}`;
}

// ---------------------------------------------------------------- scalar checks

export const str: Check = (v, path, cx) => {
  if (typeof v !== "string") typeIssue(cx, path, v, "a string");
};

export const bool: Check = (v, path, cx) => {
  if (typeof v !== "boolean") typeIssue(cx, path, v, "a boolean");
};

function bounded(integer: boolean, min: number | undefined, max: number | undefined): Check {
  const expected = integer ? "an integer" : "a number";
  return (v, path, cx) => {
    if (typeof v !== "number" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      typeIssue(cx, path, v, expected);
      return;
    }
    if ((min !== undefined && v < min) || (max !== undefined && v > max)) {
      const range =
        min === undefined
          ? `at most ${String(max)}`
          : max === undefined
            ? `at least ${String(min)}`
            : `between ${String(min)} and ${String(max)}`;
      cx.add(path, "range", `${String(v)} is out of range: expected ${range}`);
    }
  };
}

export function int(min?: number, max?: number): Check {
  return bounded(true, min, max);
}

export function num(min?: number, max?: number): Check {
  return bounded(false, min, max);
}

/** A closed vocabulary (a JSON-schema `enum`), as opposed to an open vocabulary (§2.12), which is a string. */
export function enumOf(values: readonly string[]): Check {
  const set = new Set(values);
  const expected =
    values.length <= 8 ? `one of ${listOfNames(values)}` : "a value of its enumeration";
  return (v, path, cx) => {
    if (typeof v !== "string") typeIssue(cx, path, v, "a string");
    else if (!set.has(v)) cx.add(path, "enum", `${q(v)} is not allowed here: expected ${expected}`);
  };
}

/**
 * A string that satisfies `test`. The value is not echoed: these are observable values (addresses,
 * URLs, names) that can be personal data.
 */
export function format(test: (s: string) => boolean, code: IssueCode, what: string): Check {
  return (v, path, cx) => {
    if (typeof v !== "string") typeIssue(cx, path, v, "a string");
    else if (!test(v)) cx.add(path, code, `the value is not ${what}`);
  };
}

export function pattern(re: RegExp, what: string): Check {
  return format((s) => re.test(s), "format.pattern", what);
}

export const hex: Check = format(isHex, "format.hex", "an even number of hexadecimal digits");
export const binary: Check = format(isBase64, "format.binary", "base64 (RFC 4648 §4, padded)");

/** §2.14 timestamp; `minFraction` 3 for `created`/`modified` (precise to the millisecond), `maxFraction` 0 for whole seconds. */
function timestampCheck(minFraction: number, maxFraction: number): Check {
  return (v, path, cx) => {
    if (typeof v !== "string") {
      typeIssue(cx, path, v, "a timestamp string");
      return;
    }
    const digits = timestampFractionDigits(v);
    if (digits < 0) {
      cx.add(
        path,
        "format.timestamp",
        `${q(v)} is not a timestamp: expected \`YYYY-MM-DDTHH:mm:ss[.s+]Z\` in UTC`,
      );
    } else if (digits < minFraction) {
      cx.add(
        path,
        "format.timestamp-precision",
        `${q(v)} must be precise to the millisecond (three fraction digits or more)`,
      );
    } else if (digits > maxFraction) {
      cx.add(
        path,
        "format.timestamp-precision",
        `${q(v)} must be in whole seconds, without a fraction`,
      );
    }
  };
}

export const timestamp: Check = timestampCheck(0, Infinity);
export const timestampMillis: Check = timestampCheck(3, Infinity);
export const timestampSeconds: Check = timestampCheck(0, 0);

/** Both values are valid timestamps and `later` comes before `earlier` (or equals it, when `strict`). */
export function timeOrder(earlier: string, later: string, strict: boolean): Rule {
  const relation = strict ? "later than" : "later than or equal to";
  return (o, path, cx) => {
    const a = o[earlier];
    const b = o[later];
    if (typeof a !== "string" || typeof b !== "string") return;
    if (timestampFractionDigits(a) < 0 || timestampFractionDigits(b) < 0) return;
    const c = compareTimestamps(b, a);
    if (c < 0 || (strict && c === 0)) {
      cx.add(
        `${path}${step(later)}`,
        "time-order",
        `\`${later}\` ${q(b)} must be ${relation} \`${earlier}\` ${q(a)}`,
      );
    }
  };
}

// ---------------------------------------------------------------- identifiers (§2.8)

export interface RefOptions {
  /** The object types the reference may point at. */
  readonly only?: readonly string[];
  /** The object types it must not point at. */
  readonly not?: readonly string[];
}

/** An identifier, optionally constrained to the types the property may reference. */
export function ref(options: RefOptions = {}): Check {
  const only = options.only === undefined ? undefined : new Set(options.only);
  const not = options.not === undefined ? undefined : new Set(options.not);
  const onlyWords = options.only === undefined ? "" : listOfNames(options.only);
  return (v, path, cx) => {
    if (typeof v !== "string") {
      typeIssue(cx, path, v, "an identifier string");
      return;
    }
    const type = identifierType(v);
    if (type === undefined) {
      cx.add(path, "format.identifier", `${q(v)} is not an identifier: expected \`type--UUID\``);
    } else if (only !== undefined && !only.has(type)) {
      cx.add(path, "ref-type", `${q(v)} must reference ${onlyWords}, not \`${type}\``);
    } else if (not?.has(type) === true) {
      cx.add(path, "ref-type", `${q(v)} must not reference \`${type}\``);
    }
  };
}

/**
 * A reference from one cyber-observable object to another (§6). At the top level it is an
 * identifier of the given types; inside `observed-data.objects` (deprecated, §4.14) it names a key
 * of that dictionary, so it is only a string there.
 */
export function scoRef(only: readonly string[]): Check {
  const asIdentifier = ref({ only });
  return (v, path, cx) => {
    if (cx.embedded) str(v, path, cx);
    else asIdentifier(v, path, cx);
  };
}

// ---------------------------------------------------------------- lists and dictionaries (§2.3, §2.11)

/** A non-empty list whose items satisfy `item`. */
export function list(item: Check): Check {
  return (v, path, cx) => {
    if (!Array.isArray(v)) {
      typeIssue(cx, path, v, "a list");
      return;
    }
    if (v.length === 0) {
      cx.add(path, "empty", "a list must not be empty");
      return;
    }
    for (let i = 0; i < v.length; i++) item(v[i], `${path}[${String(i)}]`, cx);
  };
}

/** What §2.3 and the custom-property rule (§11.1) admit as a value: anything but null and `[]`. */
export const anyValue: Check = (v, path, cx) => {
  if (v === null) typeIssue(cx, path, v, "a value");
  else if (Array.isArray(v) && v.length === 0) cx.add(path, "empty", "a list must not be empty");
};

export interface DictionaryOptions {
  /** The check for every value; `entry` is given the key as well. */
  readonly value?: Check;
  readonly entry?: (key: string, value: unknown, path: string, cx: Collector) => void;
  readonly key?: (k: string) => boolean;
  readonly keyWhat?: string;
}

/** §2.3 dictionary: a non-empty object whose keys are dictionary keys. */
export function dictionary(options: DictionaryOptions = {}): Check {
  const value = options.value ?? anyValue;
  const entry = options.entry;
  const keyOk = options.key ?? isDictionaryKey;
  const keyWhat =
    options.keyWhat ?? "a dictionary key (ASCII letters, digits, `-` and `_`, at most 250)";
  return (v, path, cx) => {
    if (!isRecord(v)) {
      typeIssue(cx, path, v, "an object");
      return;
    }
    let n = 0;
    for (const k of Object.keys(v)) {
      const x = v[k];
      if (x === undefined) continue;
      n++;
      const at = `${path}${step(k)}`;
      if (!keyOk(k)) cx.add(at, "format.dictionary-key", `${q(k)} is not ${keyWhat}`);
      if (entry !== undefined) entry(k, x, at, cx);
      else value(x, at, cx);
    }
    if (n === 0) cx.add(path, "empty", "a dictionary must not be empty");
  };
}

// ---------------------------------------------------------------- hashes (§2.6)

const HASH_FORMATS: ReadonlyMap<string, RegExp> = new Map([
  ["MD5", /^[a-fA-F0-9]{32}$/],
  ["SHA-1", /^[a-fA-F0-9]{40}$/],
  ["SHA-256", /^[a-fA-F0-9]{64}$/],
  ["SHA-512", /^[a-fA-F0-9]{128}$/],
  ["SHA3-256", /^[a-fA-F0-9]{64}$/],
  ["SHA3-512", /^[a-fA-F0-9]{128}$/],
  ["SSDEEP", /^[a-zA-Z0-9/+:.]{1,128}$/],
  ["TLSH", /^[a-zA-Z0-9]{70}$/],
]);

function hashValue(key: string, v: unknown, path: string, cx: Collector): void {
  if (typeof v !== "string") {
    typeIssue(cx, path, v, "a string");
    return;
  }
  const re = HASH_FORMATS.get(key);
  if (re !== undefined && !re.test(v))
    cx.add(path, "format.hash", `the value is not a valid \`${key}\` digest`);
}

/** §2.6 hashes: hash-algorithm-ov names with values of their algorithm's form, or custom names of 3–250 characters. */
export const hashes: Check = dictionary({
  key: isHashKey,
  keyWhat: "a hash algorithm name (3 to 250 ASCII letters, digits, `-` and `_`)",
  entry: hashValue,
});

const HASH_ALGORITHMS = [...HASH_FORMATS.keys()];

/** §2.4 `external_references[].hashes`: keys MUST come from hash-algorithm-ov, no custom names. */
export const vocabularyHashes: Check = dictionary({
  key: (k) => HASH_FORMATS.has(k),
  keyWhat: `a hash algorithm of hash-algorithm-ov (${HASH_ALGORITHMS.join(", ")})`,
  entry: hashValue,
});

// ---------------------------------------------------------------- objects

/** How a shape treats properties it does not define. */
export type Extra =
  /** Anything goes (a JSON-schema object without `additionalProperties`). */
  | "any"
  /** Nothing else is allowed (`additionalProperties: false`). */
  | "none"
  /** Custom properties per §11.1: a valid property name, a value that is not null or `[]`, `_hex`/`_bin` suffixes honoured. */
  | "custom";

export interface ShapeDefinition {
  readonly props: Readonly<Record<string, Check>>;
  readonly required?: readonly string[];
  readonly rules?: readonly Rule[];
  readonly extra: Extra;
  /** Reserved property names (§3, Common Properties): refused on SDOs, SROs and SCOs. */
  readonly reserved?: readonly string[];
  /** The object must have a property (a JSON-schema `minProperties: 1`). */
  readonly nonEmpty?: boolean;
}

interface Prop {
  readonly check: Check;
  readonly step: string;
}

export interface Shape {
  readonly props: ReadonlyMap<string, Prop>;
  readonly required: readonly (readonly [string, string])[];
  readonly rules: readonly Rule[];
  readonly extra: Extra;
  readonly reserved: ReadonlySet<string>;
  readonly nonEmpty: boolean;
}

export function shape(def: ShapeDefinition): Shape {
  const props = new Map<string, Prop>();
  for (const [name, check] of Object.entries(def.props))
    props.set(name, { check, step: step(name) });
  return {
    props,
    required: (def.required ?? []).map((name) => [name, step(name)] as const),
    rules: def.rules ?? [],
    extra: def.extra,
    reserved: new Set(def.reserved ?? []),
    nonEmpty: def.nonEmpty ?? false,
  };
}

const HEX_SUFFIX = /^[a-z][a-z0-9_]{0,245}_hex$/;
const BIN_SUFFIX = /^[a-z][a-z0-9_]{0,245}_bin$/;

/** §11.1: a custom property's name and value; the path is built only when there is an issue. */
function customProperty(name: string, v: unknown, parent: string, cx: Collector): void {
  if (!isPropertyName(name)) {
    cx.add(
      parent + step(name),
      "format.property-name",
      `${q(name)} is not a valid property name: expected a lowercase letter, then lowercase letters, digits or \`_\`, 3 to 250 in all`,
    );
    return;
  }
  // A valid property name is a plain JSONPath member name.
  if (v === null || (Array.isArray(v) && v.length === 0)) anyValue(v, `${parent}.${name}`, cx);
  else if (name.endsWith("_hex") && HEX_SUFFIX.test(name)) hex(v, `${parent}.${name}`, cx);
  else if (name.endsWith("_bin") && BIN_SUFFIX.test(name)) binary(v, `${parent}.${name}`, cx);
}

/** Checks `o` against `s`; `o` is known to be an object. */
export function checkShape(o: JsonRecord, s: Shape, path: string, cx: Collector): void {
  let n = 0;
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (v === undefined) continue;
    n++;
    const prop = s.props.get(key);
    if (prop !== undefined) {
      prop.check(v, path + prop.step, cx);
      continue;
    }
    if (s.reserved.has(key)) {
      cx.add(
        path + step(key),
        "reserved",
        `\`${key}\` is a reserved property name and must not be used`,
      );
      continue;
    }
    switch (s.extra) {
      case "any":
        break;
      case "none":
        cx.add(
          path + step(key),
          "format.property-name",
          `${q(key)} is not a property of this object`,
        );
        break;
      case "custom":
        customProperty(key, v, path, cx);
        break;
    }
  }
  if (n === 0 && s.nonEmpty) cx.add(path, "empty", "an object must not be empty");
  for (const [name, at] of s.required) {
    if (!has(o, name)) cx.add(path + at, "required", `\`${name}\` is required`);
  }
  for (const rule of s.rules) rule(o, path, cx);
}

/** A nested object of the given shape. */
export function object(def: ShapeDefinition): Check {
  const s = shape(def);
  return (v, path, cx) => {
    if (!isRecord(v)) typeIssue(cx, path, v, "an object");
    else checkShape(v, s, path, cx);
  };
}

// ---------------------------------------------------------------- rules across properties

/** At least one of `names` is present. */
export function anyOf(...names: string[]): Rule {
  const words = listOfNames(names);
  return (o, path, cx) => {
    for (const n of names) if (has(o, n)) return;
    cx.add(path, "required-one-of", `one of ${words} is required`);
  };
}

/** Exactly one of `a` and `b` is present. */
export function exactlyOne(a: string, b: string): Rule {
  return (o, path, cx) => {
    const ha = has(o, a);
    const hb = has(o, b);
    if (ha && hb)
      cx.add(`${path}${step(b)}`, "conflict", `\`${a}\` and \`${b}\` must not both be present`);
    else if (!ha && !hb) cx.add(path, "required-one-of", `one of \`${a}\` or \`${b}\` is required`);
  };
}

/** When `when` holds of the object, `needed` are required. */
export function requiredWhen(
  when: (o: JsonRecord) => boolean,
  reason: string,
  ...needed: string[]
): Rule {
  return (o, path, cx) => {
    if (!when(o)) return;
    for (const n of needed)
      if (!has(o, n))
        cx.add(`${path}${step(n)}`, "required", `\`${n}\` is required when ${reason}`);
  };
}

/** When `when` holds of the object, `forbidden` must be absent. */
export function forbiddenWhen(
  when: (o: JsonRecord) => boolean,
  reason: string,
  ...forbidden: string[]
): Rule {
  return (o, path, cx) => {
    if (!when(o)) return;
    for (const n of forbidden)
      if (has(o, n))
        cx.add(`${path}${step(n)}`, "conflict", `\`${n}\` must not be present when ${reason}`);
  };
}

export function present(name: string): (o: JsonRecord) => boolean {
  return (o) => has(o, name);
}

export function equals(name: string, value: string | boolean): (o: JsonRecord) => boolean {
  return (o) => o[name] === value;
}
