/**
 * The minimization engine (spec/minimization.md; VISION.md C5): one STIX object in, the minimum
 * the agreement needs out, or a refusal with reasons; and a report of every removal and
 * transformation, for the share path and the `accord minimize` dry run.
 *
 * Flow for one object: type allowed by the profile? -> source protection (created_by_ref,
 * external references and other source-revealing properties removed; public references kept if the
 * profile names their source) -> per-property allowlist (nested paths, list items, extensions) ->
 * every string kept is normalised and run through the detectors, each match redacted,
 * pseudonymized, generalized or refused as the profile says -> generalization (IPs, timestamps,
 * coordinates) -> STIX patterns parsed and their comparison values rewritten -> ids and references
 * re-issued under the agreement's id key -> granular-marking selectors trimmed to what is left ->
 * the source grade attached as the Accord source-grade extension -> the result validated as STIX
 * 2.1 (a profile that drops a required property refuses rather than emits an invalid object).
 *
 * Guarantees (test/minimize/properties.test.ts): the output validates; its properties are a
 * subset of the profile's allowlist plus the implicit identity and marking properties; minimizing
 * twice equals minimizing once; markings are never removed from a property that is kept; no
 * detector fires on the output unless the profile allows its category; pseudonyms are stable
 * within an epoch and differ across agreements and epochs.
 *
 * Risks: the input is the node's own data, but it came from ingest and may hold anything; reasons
 * and the report name properties and detector kinds, never the values found. Pure and
 * deterministic: no clock, no randomness; keys are inputs.
 */
import type { JsonObject, JsonValue, StixObject } from "../stix/object.js";
import { isTimestamp } from "../stix/formats.js";
import { validateObject } from "../stix/validate.js";
import { detect, type DetectorKind, type Match } from "./detect.js";
import {
  SOURCE_GRADE_EXTENSION_ID,
  gradeCode,
  gradeExtension,
  isSourceGrade,
  type SourceGrade,
} from "./grades.js";
import { generalizeIp, parseIp } from "./ip.js";
import { normalizeText } from "./normalize.js";
import { parsePattern, printPattern, rewriteStrings, type StringRewrite } from "./pattern.js";
import { IMPLICIT_PROPERTIES, type AllowNode, type Profile } from "./profile.js";
import { pseudonym, reissueId, type MinimizationKeys } from "./pseudonym.js";

export interface MinimizeContext {
  readonly agreementId: string;
  readonly epoch: number;
  readonly keys: MinimizationKeys;
  /** The grade that replaces the source; required when the profile says so. */
  readonly sourceGrade?: SourceGrade;
}

export type ChangeAction =
  "removed" | "redacted" | "pseudonymized" | "generalized" | "reissued" | "graded";

/** One thing minimization did, and why. Never holds the value found. */
export interface Change {
  /** Property path in the object, e.g. `external_references[0].url`, `pattern`. */
  readonly path: string;
  readonly action: ChangeAction;
  readonly reason: string;
  readonly kind?: DetectorKind;
}

export type RefusalCode =
  | "type-not-allowed"
  | "personal-data"
  | "pattern-unparseable"
  | "timestamp-unparseable"
  | "grade-missing"
  | "grade-scheme"
  | "output-invalid";

/** Why an object may not be sent at all. */
export interface Refusal {
  readonly code: RefusalCode;
  readonly path: string;
  readonly message: string;
  readonly kind?: DetectorKind;
}

export type MinimizeResult =
  | { readonly object: StixObject; readonly report: readonly Change[] }
  | { readonly refused: readonly Refusal[]; readonly report: readonly Change[] };

const KIND_NAMES: Readonly<Record<DetectorKind, string>> = {
  email: "an e-mail address",
  phone: "a phone number",
  iban: "an IBAN",
  card: "a payment card number",
  passport: "a passport number or MRZ",
  wallet: "a crypto-wallet address",
  ip: "an IP address of a person",
};

/** Shared definitions keep their ids: references to them must resolve at every node. */
const KEEP_ID_TYPES = new Set(["marking-definition", "extension-definition"]);
/** Interval ends round up so that an interval never shrinks to nothing. */
const END_TIMES = new Set(["valid_until", "last_seen", "last_observed", "stop_time"]);
const ALL: AllowNode = { all: true, keys: new Map(), any: undefined, items: undefined };
const REDACTED = "[redacted]";
const PLAIN_KEY = /^[A-Za-z_-]*$/;

function isObject(v: JsonValue | undefined): v is JsonObject {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

function isRefKey(key: string): boolean {
  return key === "id" || key.endsWith("_ref") || key.endsWith("_refs");
}

class Run {
  readonly report: Change[] = [];
  readonly refusals: Refusal[] = [];
  private readonly identityContext: boolean;

  constructor(
    private readonly profile: Profile,
    private readonly ctx: MinimizeContext,
    type: string,
  ) {
    this.identityContext = profile.identityContextTypes.has(type);
  }

  removed(path: string, reason: string): void {
    this.report.push({ path, action: "removed", reason });
  }

  refuse(code: RefusalCode, path: string, message: string, kind?: DetectorKind): void {
    this.refusals.push(
      kind === undefined ? { code, path, message } : { code, path, message, kind },
    );
  }

  /** The matches the profile acts on (not `allow`). */
  private acting(matches: Match[]): Match[] {
    if (matches.length === 0) return matches;
    const out: Match[] = [];
    for (const m of matches) if (this.profile.detectors[m.kind] !== "allow") out.push(m);
    return out;
  }

  /** Detect, then redact, pseudonymize, generalize or refuse each match. */
  text(s: string, path: string): string {
    const norm = normalizeText(s);
    const acted = this.acting(detect(norm, { identityContext: this.identityContext }));
    if (acted.length === 0) return s;
    let out = "";
    let last = 0;
    for (const m of acted) {
      out += norm.slice(last, m.start) + this.replace(m, path);
      last = m.end;
    }
    out += norm.slice(last);
    const residue = this.acting(detect(out, { identityContext: this.identityContext }));
    for (const m of residue)
      this.refuse(
        "personal-data",
        path,
        `\`${path}\` still holds ${KIND_NAMES[m.kind]} after minimization`,
        m.kind,
      );
    return out;
  }

  private replace(m: Match, path: string): string {
    const action = this.profile.detectors[m.kind];
    const what = KIND_NAMES[m.kind];
    switch (action) {
      case "refuse":
        this.refuse(
          "personal-data",
          path,
          `\`${path}\` holds ${what} and the profile refuses them`,
          m.kind,
        );
        return `[refused:${m.kind}]`;
      case "pseudonymize":
        this.report.push({
          path,
          action: "pseudonymized",
          reason: `${what} under the agreement's key`,
          kind: m.kind,
        });
        return pseudonym(this.ctx.keys, m.kind, m.value);
      case "generalize": {
        const net = parseIp(m.value);
        if (net !== undefined) {
          this.report.push({
            path,
            action: "generalized",
            reason: `${what} to its network`,
            kind: m.kind,
          });
          return generalizeIp(
            net,
            Math.min(this.profile.ip?.ipv4 ?? 24, 24),
            Math.min(this.profile.ip?.ipv6 ?? 48, 48),
          );
        }
        break;
      }
      case "redact":
      case "allow":
        break;
    }
    this.report.push({ path, action: "redacted", reason: what, kind: m.kind });
    return `[redacted:${m.kind}]`;
  }

  /** A key of a dictionary inside an allowed subtree: dropped with its value when it holds personal data. */
  private keyHoldsPersonalData(key: string): boolean {
    // ASCII letters, `_` and `-` only: no digit, `@`, `<` or `:`, so no detector can match (detect.ts gates).
    if (PLAIN_KEY.test(key)) return false;
    const norm = normalizeText(key);
    return this.acting(detect(norm, { identityContext: this.identityContext })).length > 0;
  }

  id(value: string, path: string): string {
    if (!this.profile.source.reissueIds) return value;
    const cut = value.indexOf("--");
    if (cut < 0 || KEEP_ID_TYPES.has(value.slice(0, cut))) return value;
    const next = reissueId(this.ctx.keys, value);
    if (next !== value)
      this.report.push({ path, action: "reissued", reason: "id re-issued for this agreement" });
    return next;
  }

  /** A value wholly allowed: scrub every string in it. */
  deep(v: JsonValue, path: string, key: string): JsonValue | undefined {
    if (typeof v === "string") {
      if (isRefKey(key)) return this.id(v, path);
      if (isTimestamp(v)) return v;
      return this.text(v, path);
    }
    if (Array.isArray(v)) {
      const out: JsonValue[] = [];
      for (let i = 0; i < v.length; i++) {
        const r = this.deep(v[i] ?? null, `${path}[${String(i)}]`, key);
        if (r !== undefined) out.push(r);
      }
      return out;
    }
    if (isObject(v)) {
      const out: JsonObject = {};
      for (const [k, val] of Object.entries(v)) {
        const p = join(path, k);
        if (this.keyHoldsPersonalData(k)) {
          // The key is the value here: the report names the dictionary, never the key.
          this.removed(join(path, "*"), "a key holding personal data, with its value");
          continue;
        }
        const r = this.deep(val, p, k);
        if (r !== undefined) out[k] = r;
      }
      return out;
    }
    return v;
  }

  /** Keep what `node` allows of `v`; report the rest. */
  filter(v: JsonValue, node: AllowNode, path: string, key: string): JsonValue | undefined {
    if (node.all) return this.deep(v, path, key);
    if (Array.isArray(v)) {
      if (node.items === undefined) {
        this.removed(path, "not in the profile");
        return undefined;
      }
      const items = node.items;
      const out: JsonValue[] = [];
      for (let i = 0; i < v.length; i++) {
        const r = this.filter(v[i] ?? null, items, `${path}[${String(i)}]`, key);
        if (r !== undefined) out.push(r);
      }
      return out.length === 0 ? undefined : out;
    }
    if (isObject(v)) {
      const out: JsonObject = {};
      for (const [k, val] of Object.entries(v)) {
        const p = join(path, k);
        const child = node.keys.get(k) ?? node.any;
        if (child === undefined) {
          this.removed(this.keyHoldsPersonalData(k) ? join(path, "*") : p, "not in the profile");
          continue;
        }
        const r = this.filter(val, child, p, k);
        if (r !== undefined) out[k] = r;
      }
      return Object.keys(out).length === 0 ? undefined : out;
    }
    this.removed(path, "not in the profile");
    return undefined;
  }

  pattern(source: string): string | undefined {
    const ast = parsePattern(source);
    if (ast === undefined) {
      this.refuse(
        "pattern-unparseable",
        "pattern",
        "`pattern` is not a STIX pattern this node can minimize",
      );
      return undefined;
    }
    const ip = this.profile.ip;
    const rewritten = rewriteStrings(ast, (path, op, not, value): StringRewrite => {
      for (const step of path.steps) {
        if (step.t === "prop" && step.quoted && this.keyHoldsPersonalData(step.name))
          this.refuse(
            "personal-data",
            "pattern",
            "a property name in `pattern` holds personal data",
          );
      }
      if (ip !== undefined && op !== "LIKE" && op !== "MATCHES") {
        const net = parseIp(value);
        if (net !== undefined) {
          const g = generalizeIp(net, ip.ipv4, ip.ipv6);
          if (g !== value)
            this.report.push({
              path: "pattern",
              action: "generalized",
              reason: "an IP address in the pattern to its network",
            });
          if (op === "=") return { value: g, op: "ISSUBSET" };
          if (op === "!=") return { value: g, op: "ISSUBSET", not: !not };
          return { value: g };
        }
      }
      return { value: this.text(value, "pattern") };
    });
    return printPattern(rewritten);
  }

  timestamp(key: string, v: string, precision: "hour" | "day"): string | undefined {
    // `v` is a valid STIX timestamp (§2.14): YYYY-MM-DDTHH:mm:ss[.s+]Z, so the fields are at fixed offsets.
    const cut = precision === "hour" ? 13 : 10;
    const floor =
      precision === "hour" ? `${v.slice(0, 13)}:00:00.000Z` : `${v.slice(0, 10)}T00:00:00.000Z`;
    let out = floor;
    if (END_TIMES.has(key) && /[1-9]/.test(v.slice(cut))) {
      const ms = Date.parse(floor);
      if (!Number.isFinite(ms)) {
        this.refuse(
          "timestamp-unparseable",
          key,
          `\`${key}\` is a timestamp this node cannot generalize`,
        );
        return undefined;
      }
      out = new Date(ms + (precision === "hour" ? 3_600_000 : 86_400_000)).toISOString();
    }
    if (out !== v)
      this.report.push({ path: key, action: "generalized", reason: `to the ${precision}` });
    return out;
  }
}

/** Keep the granular markings whose selectors still point at something; trim the others. */
function selectorResolves(o: JsonObject, selector: string): boolean {
  let cur: JsonValue | undefined = o;
  for (const seg of selector.split(".")) {
    const m = /^\[(\d+)\]$/.exec(seg);
    if (m !== null) {
      if (!Array.isArray(cur)) return false;
      cur = cur[Number(m[1])];
    } else {
      if (!isObject(cur)) return false;
      cur = cur[seg];
    }
    if (cur === undefined) return false;
  }
  return true;
}

/**
 * Minimize one object under a profile. Pure and deterministic: the same object, profile and
 * context give the same result byte for byte.
 */
export function minimize(
  object: StixObject,
  profile: Profile,
  ctx: MinimizeContext,
): MinimizeResult {
  if (
    typeof object !== "object" ||
    typeof object.type !== "string" ||
    typeof object.id !== "string"
  )
    throw new TypeError("minimize expects a STIX object");
  if (ctx.sourceGrade !== undefined && !isSourceGrade(ctx.sourceGrade))
    throw new RangeError("sourceGrade is not a grade of its scheme");
  const type = object.type;
  const run = new Run(profile, ctx, type);
  const rule = profile.types.get(type);
  if (rule === undefined) {
    run.refuse(
      "type-not-allowed",
      "type",
      `the profile \`${profile.name}\` does not allow \`${type}\` objects`,
    );
    return { refused: run.refusals, report: run.report };
  }
  const sp = profile.source;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(object)) {
    if (v === undefined) continue;
    if (IMPLICIT_PROPERTIES.has(k)) {
      if (k === "id" && typeof v === "string") out[k] = run.id(v, k);
      else if (
        (k === "created" || k === "modified") &&
        typeof v === "string" &&
        profile.timestamps?.properties.has(k)
      ) {
        const t = run.timestamp(k, v, profile.timestamps.precision);
        if (t !== undefined) out[k] = t;
      } else out[k] = v;
      continue;
    }
    if (sp.enabled && sp.remove.has(k)) {
      if (k === "external_references" && sp.publicSources.size > 0 && Array.isArray(v)) {
        const kept = v.filter(
          (r) =>
            isObject(r) && typeof r.source_name === "string" && sp.publicSources.has(r.source_name),
        );
        if (kept.length < v.length)
          run.removed(k, "source protection: references to non-public sources");
        const node = rule.allow.all ? ALL : (rule.allow.keys.get(k) ?? rule.allow.any);
        if (kept.length > 0 && node !== undefined) {
          const r = run.filter(kept, node, k, k);
          if (r !== undefined) out[k] = r;
        } else if (kept.length > 0) run.removed(k, "not in the profile");
        continue;
      }
      run.removed(k, "source protection");
      continue;
    }
    const node = rule.allow.all ? ALL : (rule.allow.keys.get(k) ?? rule.allow.any);
    if (node === undefined) {
      run.removed(k, "not in the profile");
      continue;
    }
    if (rule.redact.has(k)) {
      if (typeof v === "string") {
        out[k] = REDACTED;
        if (v !== REDACTED)
          run.report.push({ path: k, action: "redacted", reason: "free text the profile redacts" });
      } else run.removed(k, "free text the profile redacts");
      continue;
    }
    if (k === "extensions" && isObject(v)) {
      const { [SOURCE_GRADE_EXTENSION_ID]: oldGrade, ...rest } = v;
      if (oldGrade !== undefined && ctx.sourceGrade === undefined)
        run.removed(`${k}.${SOURCE_GRADE_EXTENSION_ID}`, "a grade this node does not vouch for");
      const r = Object.keys(rest).length === 0 ? undefined : run.filter(rest, node, k, k);
      if (r !== undefined) out[k] = r;
      continue;
    }
    if (k === "pattern" && typeof v === "string" && object.pattern_type === "stix" && node.all) {
      const p = run.pattern(v);
      if (p !== undefined) out[k] = p;
      continue;
    }
    if (
      typeof v === "string" &&
      node.all &&
      profile.timestamps?.properties.has(k) &&
      isTimestamp(v)
    ) {
      const t = run.timestamp(k, v, profile.timestamps.precision);
      if (t !== undefined) out[k] = t;
      continue;
    }
    if (
      typeof v === "number" &&
      type === "location" &&
      (k === "latitude" || k === "longitude") &&
      profile.coordinateDecimals !== undefined
    ) {
      const f = 10 ** profile.coordinateDecimals;
      const r = Math.round(v * f) / f;
      if (r !== v)
        run.report.push({
          path: k,
          action: "generalized",
          reason: `rounded to ${String(profile.coordinateDecimals)} decimals`,
        });
      out[k] = r;
      continue;
    }
    if (
      typeof v === "string" &&
      k === "value" &&
      (type === "ipv4-addr" || type === "ipv6-addr") &&
      profile.ip !== undefined
    ) {
      const net = parseIp(v);
      if (net !== undefined) {
        const g = generalizeIp(net, profile.ip.ipv4, profile.ip.ipv6);
        if (g !== v)
          run.report.push({
            path: k,
            action: "generalized",
            reason: "an IP address to its network",
          });
        out[k] = g;
        continue;
      }
    }
    const r = run.filter(v, node, k, k);
    if (r !== undefined) out[k] = r;
  }

  // Granular markings follow the properties they mark: a marking on a removed property goes with it.
  const gm = out.granular_markings;
  if (Array.isArray(gm)) {
    const kept: JsonValue[] = [];
    gm.forEach((m, i) => {
      if (!isObject(m) || !Array.isArray(m.selectors)) return;
      const selectors = m.selectors.filter(
        (s): s is string => typeof s === "string" && selectorResolves(out, s),
      );
      if (selectors.length < m.selectors.length)
        run.removed(`granular_markings[${String(i)}].selectors`, "they select removed properties");
      if (selectors.length > 0) kept.push({ ...m, selectors });
    });
    if (kept.length > 0) out.granular_markings = kept;
    else delete out.granular_markings;
  }

  // Shared definitions (TLP markings, extension definitions) come from no source: they travel as
  // published, ungraded, so every node recognises them.
  if (sp.enabled && !KEEP_ID_TYPES.has(type)) {
    const g = ctx.sourceGrade;
    if (g === undefined) {
      if (sp.grade === "required")
        run.refuse(
          "grade-missing",
          "extensions",
          "the profile requires a source grade and none was given",
        );
    } else if (sp.gradeScheme !== "any" && g.scheme !== sp.gradeScheme) {
      run.refuse(
        "grade-scheme",
        "extensions",
        `the profile requires \`${sp.gradeScheme}\` grades, not \`${g.scheme}\``,
      );
    } else {
      const exts = isObject(out.extensions) ? out.extensions : {};
      out.extensions = { ...exts, [SOURCE_GRADE_EXTENSION_ID]: gradeExtension(g) };
      run.report.push({
        path: `extensions.${SOURCE_GRADE_EXTENSION_ID}`,
        action: "graded",
        reason: `source replaced by grade ${gradeCode(g)}`,
      });
    }
  }

  if (run.refusals.length > 0) return { refused: run.refusals, report: run.report };
  const result = out as StixObject;
  const issues = validateObject(result);
  if (issues.length > 0) {
    return {
      refused: issues.map((i) => ({
        code: "output-invalid" as const,
        path: i.path.replace(/^\$\.?/, ""),
        message: `the minimized object breaks STIX 2.1 at \`${i.path}\` (${i.code})`,
      })),
      report: run.report,
    };
  }
  return { object: result, report: run.report };
}

/**
 * True when the profile lets property path `path` (segments; list indexes as numbers) of a
 * `type` object travel: the allowlist, the implicit identity and marking properties, and the
 * source-grade extension. The subset guarantee is stated with it.
 */
export function allows(
  profile: Profile,
  type: string,
  path: readonly (string | number)[],
): boolean {
  const rule = profile.types.get(type);
  if (rule === undefined) return false;
  const [first, second] = path;
  if (typeof first === "string" && IMPLICIT_PROPERTIES.has(first)) return true;
  if (first === "extensions" && second === SOURCE_GRADE_EXTENSION_ID) return true;
  let node: AllowNode | undefined = rule.allow;
  for (const seg of path) {
    if (node === undefined) return false;
    if (node.all) return true;
    node = typeof seg === "number" ? node.items : (node.keys.get(seg) ?? node.any);
  }
  return node !== undefined;
}
