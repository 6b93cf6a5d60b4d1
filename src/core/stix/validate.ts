/**
 * STIX 2.1 validation (OASIS Standard, 10 June 2021), hand-written for speed: no JSON schema at
 * run time. What it checks, its issue codes, and where it departs from the OASIS JSON schemas are
 * in spec/stix-validation.md; test/core/stix/oracle.test.ts holds it to those schemas.
 *
 * - `validateObject`: one object — the common properties (§3), the per-type properties of §4–§7
 *   and the rules between them, custom objects and properties (§11), `modified` not before
 *   `created` (§3), the order of first/last timestamps where the prose requires it, and the
 *   predefined TLP marking definitions (§7.2.1.4, TLP 2.0 extension), which may not be imitated.
 * - `validateBundle`: a §8 bundle — its envelope, every object, and the versioning rule of §3
 *   (Versioning): two objects with the same `id` and the same `modified` (`created` for marking
 *   definitions, none for SCOs) are the same version and must not differ (`duplicate-version`).
 * - `parseStix`: JSON text to a typed bundle, or an `AccordError`.
 *
 * Everything a peer sends is attacker-controlled. Nothing here recurses on input depth except the
 * fixed depth of the STIX shapes; custom values are never walked; content is compared only when an
 * (id, version) pair repeats; messages echo at most 64 characters of input and never observable
 * values (addresses, URLs), which can be personal data.
 */
import { AccordError, type ErrorDetail } from "../../errors.js";
import { sha256Hex } from "../../crypto/hash.js";
import {
  Collector,
  checkShape,
  isRecord,
  kindOf,
  q,
  shape,
  step,
  type JsonRecord,
  type StixIssue,
} from "./checks.js";
import { CUSTOM_SCO, CUSTOM_SDO, DEFINITIONS, MARKING_DEFINITION } from "./definitions.js";
import { compareTimestamps, identifierType, isTimestamp, isTypeName } from "./formats.js";
import {
  TLP1_CREATED,
  TLP1_IDS,
  TLP2_EXTENSION_ID,
  TLP2_IDS,
  TLP_NAMES,
  tlpLabel,
  type Tlp1Name,
  type TlpName,
} from "./tlp.js";
import type { AnyStixObject, Bundle } from "./types.js";

export type { IssueCode, StixIssue } from "./checks.js";

export interface BundleVerdict {
  readonly valid: boolean;
  readonly issues: StixIssue[];
}

/** Type names no object may have: `action` (reserved by §3) and `bundle` (§8: not a STIX object). */
const RESERVED_TYPES: ReadonlySet<string> = new Set(["action", "bundle"]);

const MAX_OBJECT_ID_LENGTH = 300;

/** Issues of one STIX object; `path` is the JSONPath of the object (`$` by default). */
export function validateObject(obj: unknown, path = "$"): StixIssue[] {
  const cx = new Collector();
  checkObject(obj, path, cx);
  return cx.issues;
}

function checkObject(obj: unknown, path: string, cx: Collector): void {
  cx.objectId = undefined;
  cx.embedded = false;
  if (!isRecord(obj)) {
    cx.add(path, "type", `expected a STIX object, found ${kindOf(obj)}`);
    return;
  }
  const id = obj.id;
  if (typeof id === "string" && id.length <= MAX_OBJECT_ID_LENGTH) cx.objectId = id;
  const type = obj.type;
  if (typeof type !== "string") {
    if (type === undefined) cx.add(`${path}.type`, "required", "`type` is required");
    else cx.add(`${path}.type`, "type", `expected a type name, found ${kindOf(type)}`);
    return;
  }
  checkId(id, type, path, cx);
  if (type === "marking-definition") {
    checkShape(obj, MARKING_DEFINITION_SHAPE, path, cx);
    checkTlp(obj, path, cx);
    return;
  }
  let def = DEFINITIONS.get(type);
  if (def === undefined) {
    if (!isTypeName(type)) {
      cx.add(
        `${path}.type`,
        "format.type-name",
        `${q(type)} is not a valid type name: expected a lowercase letter, then lowercase letters, digits and single hyphens, 3 to 250 in all`,
      );
    } else if (RESERVED_TYPES.has(type)) {
      cx.add(
        `${path}.type`,
        "reserved",
        `\`${type}\` is reserved and is not the type of any STIX object`,
      );
    }
    def = obj.created !== undefined || obj.modified !== undefined ? CUSTOM_SDO : CUSTOM_SCO;
  }
  checkShape(obj, def.shape, path, cx);
  if (def.class !== "sco") checkModifiedAfterCreated(obj, path, cx);
}

/** §2.8: `id` is an identifier whose type part is the object's type. */
function checkId(id: unknown, type: string, path: string, cx: Collector): void {
  if (id === undefined) return; // reported as required by the shape
  const at = `${path}.id`;
  if (typeof id !== "string") {
    cx.add(at, "type", `expected an identifier string, found ${kindOf(id)}`);
    return;
  }
  const idType = identifierType(id);
  if (idType === undefined)
    cx.add(at, "format.identifier", `${q(id)} is not an identifier: expected \`${type}--UUID\``);
  else if (idType !== type)
    cx.add(at, "id-type", `${q(id)} must begin with \`${type}--\`, the object's type`);
}

/**
 * §3, Common Properties: "The value of the modified property … MUST be later than or equal to the
 * value of the created property."
 */
function checkModifiedAfterCreated(o: JsonRecord, path: string, cx: Collector): void {
  const created = o.created;
  const modified = o.modified;
  if (typeof created !== "string" || typeof modified !== "string") return;
  if (!isTimestamp(created) || !isTimestamp(modified)) return;
  if (compareTimestamps(modified, created) < 0) {
    cx.add(
      `${path}.modified`,
      "modified-before-created",
      `\`modified\` ${q(modified)} is earlier than \`created\` ${q(created)}`,
    );
  }
}

// ---------------------------------------------------------------- TLP marking definitions

const MARKING_DEFINITION_SHAPE = shape(MARKING_DEFINITION);

const TLP1_BY_ID: ReadonlyMap<string, Tlp1Name> = new Map(
  (Object.entries(TLP1_IDS) as [Tlp1Name, string][]).map(([level, id]) => [id, level]),
);
const TLP2_BY_ID: ReadonlyMap<string, TlpName> = new Map(
  TLP_NAMES.map((level) => [TLP2_IDS[level], level]),
);

/** Properties a TLP 2.0 marking definition may carry besides its own (the extension's schema). */
const TLP2_OPTIONAL: ReadonlySet<string> = new Set([
  "created_by_ref",
  "external_references",
  "object_marking_refs",
  "granular_markings",
]);

/**
 * The predefined TLP markings are recognised by id alone (./tlp.ts), so an object that takes one of
 * their ids must be that marking, and the `tlp` definition type and the TLP 2.0 extension belong to
 * them only: §7.2.1.4 for TLP 1.0, the TLP 2.0 extension definition's schema for TLP 2.0.
 */
function checkTlp(o: JsonRecord, path: string, cx: Collector): void {
  const id = typeof o.id === "string" ? o.id : "";
  const v1 = TLP1_BY_ID.get(id);
  if (v1 !== undefined) {
    const expected: JsonRecord = {
      type: "marking-definition",
      spec_version: "2.1",
      id,
      created: TLP1_CREATED,
      definition_type: "tlp",
      name: `TLP:${v1.toUpperCase()}`,
    };
    for (const [key, value] of Object.entries(expected)) {
      if (o[key] !== value)
        cx.add(
          path + step(key),
          "tlp",
          `the TLP 1.0 marking definition ${q(id)} must have \`${key}\` \`${String(value)}\``,
        );
    }
    const def = o.definition;
    if (!isRecord(def) || def.tlp !== v1 || Object.keys(def).length !== 1)
      cx.add(
        `${path}.definition`,
        "tlp",
        `the TLP 1.0 marking definition ${q(id)} must have \`definition\` \`{"tlp": "${v1}"}\``,
      );
    for (const key of Object.keys(o)) {
      if (!(key in expected) && key !== "definition")
        cx.add(
          path + step(key),
          "tlp",
          `\`${key}\` is not part of the TLP 1.0 marking definition ${q(id)}`,
        );
    }
    return;
  }
  const ext = isRecord(o.extensions) ? o.extensions[TLP2_EXTENSION_ID] : undefined;
  const v2 = TLP2_BY_ID.get(id);
  if (v2 !== undefined) {
    const label = tlpLabel(v2);
    if (o.name !== label)
      cx.add(
        `${path}.name`,
        "tlp",
        `the TLP 2.0 marking definition ${q(id)} must have \`name\` \`${label}\``,
      );
    const extPath = `${path}.extensions${step(TLP2_EXTENSION_ID)}`;
    if (
      !isRecord(ext) ||
      ext.extension_type !== "property-extension" ||
      ext.tlp_2_0 !== v2 ||
      Object.keys(ext).length !== 2
    ) {
      cx.add(
        extPath,
        "tlp",
        `the TLP 2.0 marking definition ${q(id)} must carry the TLP 2.0 extension with \`tlp_2_0\` \`${v2}\``,
      );
    }
    if (isRecord(o.extensions) && Object.keys(o.extensions).length !== 1)
      cx.add(
        `${path}.extensions`,
        "tlp",
        `the TLP 2.0 marking definition ${q(id)} must carry no other extension`,
      );
    for (const key of Object.keys(o)) {
      if (
        !["type", "spec_version", "id", "created", "name", "extensions"].includes(key) &&
        !TLP2_OPTIONAL.has(key)
      )
        cx.add(
          path + step(key),
          "tlp",
          `\`${key}\` is not part of the TLP 2.0 marking definition ${q(id)}`,
        );
    }
    return;
  }
  if (o.definition_type === "tlp")
    cx.add(
      `${path}.definition_type`,
      "tlp",
      "the definition type `tlp` belongs to the four TLP 1.0 marking definitions of §7.2.1.4",
    );
  if (ext !== undefined)
    cx.add(
      `${path}.extensions${step(TLP2_EXTENSION_ID)}`,
      "tlp",
      "the TLP 2.0 extension belongs to the five TLP 2.0 marking definitions",
    );
}

// ---------------------------------------------------------------- bundles (§8)

/** The version key (§3, Versioning): `modified`, else `created` (marking definitions), else none (SCOs). */
function versionKey(o: JsonRecord): string {
  if (typeof o.modified === "string") return o.modified;
  if (typeof o.created === "string") return o.created;
  return "";
}

/** Issues of a bundle: its envelope, every object, and versions repeated with different content. */
export function validateBundle(bundle: unknown): BundleVerdict {
  const cx = new Collector();
  if (!isRecord(bundle)) {
    cx.add("$", "type", `expected a bundle object, found ${kindOf(bundle)}`);
    return { valid: false, issues: cx.issues };
  }
  const bundleId =
    typeof bundle.id === "string" && bundle.id.length <= MAX_OBJECT_ID_LENGTH
      ? bundle.id
      : undefined;
  cx.objectId = bundleId;
  if (bundle.type === undefined) cx.add("$.type", "required", "`type` is required");
  else if (bundle.type !== "bundle")
    cx.add(
      "$.type",
      "enum",
      `expected \`bundle\`, found ${typeof bundle.type === "string" ? q(bundle.type) : kindOf(bundle.type)}`,
    );
  if (bundle.id === undefined) cx.add("$.id", "required", "`id` is required");
  else checkId(bundle.id, "bundle", "$", cx);
  const objects = bundle.objects;
  if (objects === undefined) return { valid: cx.issues.length === 0, issues: cx.issues };
  if (!Array.isArray(objects)) {
    cx.add("$.objects", "type", `expected a list, found ${kindOf(objects)}`);
    return { valid: false, issues: cx.issues };
  }
  if (objects.length === 0) cx.add("$.objects", "empty", "a list must not be empty");
  const items: readonly unknown[] = objects;
  for (let i = 0; i < items.length; i++) checkObject(items[i], `$.objects[${String(i)}]`, cx);
  checkVersions(items, cx);
  return { valid: cx.issues.length === 0, issues: cx.issues };
}

/**
 * §3, Versioning: an (id, version) pair names one version of one object; a later object with the
 * same pair and different content is a conflicting copy. Content is compared only when a pair
 * repeats.
 */
function checkVersions(items: readonly unknown[], cx: Collector): void {
  // Most bundles repeat no id: key the first map by id alone, and only build (id, version) keys
  // once an id repeats.
  const firstById = new Map<string, number>();
  let byVersion: Map<string, number> | undefined;
  for (let i = 0; i < items.length; i++) {
    const o = items[i];
    if (!isRecord(o) || typeof o.id !== "string") continue;
    const earliest = firstById.get(o.id);
    if (earliest === undefined) {
      firstById.set(o.id, i);
      continue;
    }
    byVersion ??= new Map();
    const earlierRecord = items[earliest] as JsonRecord;
    const earliestKey = `${o.id}\n${versionKey(earlierRecord)}`;
    if (!byVersion.has(earliestKey)) byVersion.set(earliestKey, earliest);
    const version = versionKey(o);
    const key = `${o.id}\n${version}`;
    const j = byVersion.get(key);
    if (j === undefined) {
      byVersion.set(key, i);
      continue;
    }
    if (sameJson(items[j], o)) continue;
    cx.objectId = o.id.length <= MAX_OBJECT_ID_LENGTH ? o.id : undefined;
    const which = version === "" ? "" : ` at version ${q(version)}`;
    cx.add(
      `$.objects[${String(i)}]`,
      "duplicate-version",
      `${q(o.id)}${which} repeats \`$.objects[${String(j)}]\` with different content`,
    );
  }
}

/** Structural equality of two JSON values, member order ignored; iterative, so depth cannot exhaust the stack. */
function sameJson(a: unknown, b: unknown): boolean {
  const stack: unknown[] = [a, b];
  while (stack.length > 0) {
    const y = stack.pop();
    const x = stack.pop();
    if (x === y) continue;
    if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
    if (Array.isArray(x)) {
      if (!Array.isArray(y) || x.length !== y.length) return false;
      const xs: readonly unknown[] = x;
      const ys: readonly unknown[] = y;
      for (let i = 0; i < xs.length; i++) stack.push(xs[i], ys[i]);
      continue;
    }
    if (Array.isArray(y)) return false;
    const xr = x as JsonRecord;
    const yr = y as JsonRecord;
    let n = 0;
    for (const k of Object.keys(xr)) {
      const xv = xr[k];
      if (xv === undefined) continue;
      n++;
      const yv = Object.hasOwn(yr, k) ? yr[k] : undefined;
      if (yv === undefined) return false;
      stack.push(xv, yv);
    }
    let m = 0;
    for (const k of Object.keys(yr)) if (yr[k] !== undefined) m++;
    if (n !== m) return false;
  }
  return true;
}

// ---------------------------------------------------------------- parsing

const MAX_DETAILS = 1000;

/**
 * Parses JSON text holding a STIX 2.1 bundle, validates it, and returns it typed; `objects` is
 * always present (empty when the bundle had none). A single STIX object, not in a bundle, is
 * accepted and wrapped in one whose id is derived from the object's id and version (a
 * UUIDv4-shaped digest), so the same object always yields the same bundle.
 *
 * Throws `AccordError`: `ERR_MALFORMED_INPUT` when the text is not JSON (the detail gives the line
 * and column), `ERR_STIX_INVALID` when it is not valid STIX 2.1 (one detail per issue, the first
 * 1000, each with its JSONPath, object id, code and message).
 */
export function parseStix(text: string): Bundle {
  if (typeof text !== "string")
    throw new TypeError("parseStix: expected the JSON text as a string");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const where = locateJsonError(text);
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the input is not valid JSON: ${where.reason} at line ${String(where.line)}, column ${String(where.column)}`,
      {
        details: [
          {
            path: `${String(where.line)}:${String(where.column)}`,
            message: where.reason,
            code: "json",
          },
        ],
        cause: e,
      },
    );
  }
  if (isRecord(value) && value.type !== "bundle" && value.type !== undefined) {
    const issues = validateObject(value);
    if (issues.length > 0) throw stixInvalid(issues);
    const object = value as AnyStixObject;
    return { type: "bundle", id: wrapperId(object), objects: [object] };
  }
  const verdict = validateBundle(value);
  if (!verdict.valid) throw stixInvalid(verdict.issues);
  const bundle = value as { id: Bundle["id"]; objects?: AnyStixObject[] };
  return { type: "bundle", id: bundle.id, objects: bundle.objects ?? [] };
}

function stixInvalid(issues: readonly StixIssue[]): AccordError {
  const first = issues[0];
  const count = issues.length === 1 ? "1 issue" : `${String(issues.length)} issues`;
  const lead = first === undefined ? "" : `, the first at \`${first.path}\`: ${first.message}`;
  const details: ErrorDetail[] = issues
    .slice(0, MAX_DETAILS)
    .map((i) =>
      i.objectId === undefined
        ? { path: i.path, message: i.message, code: i.code }
        : { path: i.path, objectId: i.objectId, message: i.message, code: i.code },
    );
  const more = issues.length > MAX_DETAILS ? ` (the first ${String(MAX_DETAILS)} are listed)` : "";
  return new AccordError(
    "ERR_STIX_INVALID",
    `the input is not valid STIX 2.1: ${count}${more}${lead}`,
    { details },
  );
}

/** `bundle--` and a UUIDv4-shaped digest of the object's id and version. */
function wrapperId(o: AnyStixObject): Bundle["id"] {
  const h = sha256Hex(`accord/stix-bundle-wrap\n${o.id}\n${versionKey(o)}`);
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `bundle--${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

// ---------------------------------------------------------------- JSON errors (RFC 8259)

interface JsonErrorLocation {
  readonly offset: number;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

const ARRAY = 0;
const OBJECT = 1;

/**
 * Where JSON text first breaks RFC 8259 and why, for a message a person can act on; run only after
 * `JSON.parse` failed. An iterative scanner: nesting depth cannot exhaust the stack.
 */
function locateJsonError(s: string): JsonErrorLocation {
  const n = s.length;
  const stack: number[] = [];
  let i = 0;
  type State = "value" | "first-value" | "key" | "first-key" | "after";
  let state: State = "value";
  const at = (offset: number, reason: string): JsonErrorLocation => {
    let line = 1;
    let lineStart = 0;
    for (let k = 0; k < offset && k < n; k++) {
      if (s.charCodeAt(k) === 10) {
        line++;
        lineStart = k + 1;
      }
    }
    return { offset, line, column: offset - lineStart + 1, reason };
  };
  const unexpected = (what: string): string =>
    i >= n
      ? `unexpected end of input, expected ${what}`
      : `unexpected ${describeChar(s.charCodeAt(i))}, expected ${what}`;
  const skipWhitespace = (): void => {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  for (;;) {
    skipWhitespace();
    switch (state) {
      case "value":
      case "first-value": {
        const c = s.charCodeAt(i);
        if (state === "first-value" && c === 93) {
          stack.pop();
          i++;
          state = "after";
        } else if (c === 123) {
          stack.push(OBJECT);
          i++;
          state = "first-key";
        } else if (c === 91) {
          stack.push(ARRAY);
          i++;
          state = "first-value";
        } else {
          const start = i;
          const r = scalar();
          if (r !== undefined) return at(i, r);
          if (i === start) return at(i, unexpected("a value"));
          state = "after";
        }
        break;
      }
      case "key":
      case "first-key": {
        const c = s.charCodeAt(i);
        if (state === "first-key" && c === 125) {
          stack.pop();
          i++;
          state = "after";
          break;
        }
        if (c !== 34) return at(i, unexpected("a property name in double quotes"));
        const r = jsonString();
        if (r !== undefined) return at(i, r);
        skipWhitespace();
        if (s.charCodeAt(i) !== 58) return at(i, unexpected("`:`"));
        i++;
        state = "value";
        break;
      }
      case "after": {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          if (i < n)
            return at(i, `unexpected ${describeChar(s.charCodeAt(i))} after the JSON value`);
          return at(i, "the input could not be parsed (it may be nested too deeply)");
        }
        const c = s.charCodeAt(i);
        const close = top === ARRAY ? 93 : 125;
        if (c === 44) {
          i++;
          state = top === ARRAY ? "value" : "key";
        } else if (c === close) {
          stack.pop();
          i++;
        } else {
          return at(i, unexpected(top === ARRAY ? "`,` or `]`" : "`,` or `}`"));
        }
        break;
      }
    }
  }

  /** A string, number or literal at `i`; advances past it, or returns why it is not one. */
  function scalar(): string | undefined {
    const c = s.charCodeAt(i);
    if (c === 34) return jsonString();
    if (c === 45 || (c >= 48 && c <= 57)) return jsonNumber();
    for (const literal of ["true", "false", "null"]) {
      if (s.startsWith(literal, i)) {
        i += literal.length;
        return undefined;
      }
    }
    return undefined;
  }

  function jsonString(): string | undefined {
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        i++;
        return undefined;
      }
      if (c < 32) return "a control character inside a string (it must be escaped)";
      if (c === 92) {
        const e = s.charCodeAt(i + 1);
        if (e === 117) {
          for (let k = 2; k < 6; k++) {
            const h = s.charCodeAt(i + k);
            if (!((h >= 48 && h <= 57) || (h >= 65 && h <= 70) || (h >= 97 && h <= 102)))
              return "an invalid `\\u` escape (four hexadecimal digits expected)";
          }
          i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(String.fromCharCode(e)) || Number.isNaN(e))
          return "an invalid escape in a string";
        i += 2;
        continue;
      }
      i++;
    }
    return "an unterminated string";
  }

  function jsonNumber(): string | undefined {
    const digits = (): number => {
      const from = i;
      while (i < n && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      return i - from;
    };
    if (s.charCodeAt(i) === 45) i++;
    if (s.charCodeAt(i) === 48) i++;
    else if (digits() === 0) return "a number without digits";
    if (s.charCodeAt(i) === 46) {
      i++;
      if (digits() === 0) return "a number with no digits after `.`";
    }
    const e = s.charCodeAt(i);
    if (e === 101 || e === 69) {
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 43 || sign === 45) i++;
      if (digits() === 0) return "a number with no digits in its exponent";
    }
    return undefined;
  }
}

function describeChar(c: number): string {
  if (c >= 33 && c <= 126 && c !== 96) return `\`${String.fromCharCode(c)}\``;
  return `character U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}
