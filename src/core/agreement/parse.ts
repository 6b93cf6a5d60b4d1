/**
 * Parse an agreement document (spec/agreement.md): YAML -> hostile-input checks -> schema
 * validation -> an immutable `Agreement` with its canonical hash (RFC 8785 JCS over the validated
 * document, SHA-256). Errors carry file, line and column and say what was expected; all problems
 * are reported together.
 *
 * Risks: the source is attacker-controlled (a partner proposes it). Before anything is built from
 * it: the size is capped in UTF-8 bytes, duplicate keys are errors (never last-wins), anchors,
 * aliases and tags are refused outright (an agreement has no use for them, and aliases are how
 * "billion laughs" documents grow), and the node count and nesting depth are capped. Dates are
 * strings in YAML 1.2's core schema, so `2026-1-1` or a timestamp is a schema error, not a guess.
 */
import {
  LineCounter,
  parseDocument,
  isNode,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  visit,
} from "yaml";
import { AccordError, type ErrorDetail } from "../../errors.js";
import { canonicalize } from "../../crypto/jcs.js";
import { sha256Hex } from "../../crypto/hash.js";
import { agreementSchema, type AgreementDocument } from "./schema.js";

export interface Agreement {
  readonly doc: AgreementDocument;
  readonly id: string;
  readonly version: number;
  /** Hex SHA-256 of the canonical JSON of the validated document. */
  readonly hash: string;
  /** The source text as given. */
  readonly source: string;
  /** Start of validity, epoch milliseconds (00:00 UTC of effective_from). */
  readonly effectiveFromMs: number;
  /** End of validity, epoch milliseconds (00:00 UTC of sunset). */
  readonly sunsetMs: number;
}

export const MAX_AGREEMENT_BYTES = 256 * 1024;
const MAX_NODES = 20_000;
const CORE_TAGS: ReadonlySet<string> = new Set(
  ["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`),
);
const MAX_DEPTH = 16;

export function parseAgreement(source: string, file = "<agreement>"): Agreement {
  if (typeof source !== "string") throw new TypeError("parseAgreement: source must be a string");
  if (source.length > MAX_AGREEMENT_BYTES || utf8Length(source) > MAX_AGREEMENT_BYTES)
    throw new AccordError(
      "ERR_AGREEMENT_INVALID",
      `${file}: the agreement is larger than ${String(MAX_AGREEMENT_BYTES / 1024)} KiB`,
    );
  const lineCounter = new LineCounter();
  const yamlDoc = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    schema: "core",
    merge: false,
    customTags: [],
  });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (yamlDoc.errors.length > 0) {
    const details: ErrorDetail[] = yamlDoc.errors.map((e) => ({
      path: at(e.pos[0]),
      message: e.message.split("\n")[0] ?? e.message,
    }));
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `${details[0]?.path ?? file}: the agreement is not valid YAML`,
      { details },
    );
  }
  const hostile: ErrorDetail[] = [];
  let nodes = 0;
  visit(yamlDoc, (_key, node, path) => {
    if (!isNode(node)) return undefined;
    const offset = node.range?.[0] ?? 0;
    if (++nodes > MAX_NODES) {
      hostile.push({ path: at(offset), message: `more than ${String(MAX_NODES)} YAML nodes` });
      return visit.BREAK;
    }
    if (isAlias(node)) hostile.push({ path: at(offset), message: "YAML aliases are not allowed" });
    else if ((isScalar(node) || isCollection(node)) && node.anchor !== undefined)
      hostile.push({ path: at(offset), message: "YAML anchors are not allowed" });
    if (
      (isScalar(node) || isCollection(node)) &&
      node.tag !== undefined &&
      !CORE_TAGS.has(node.tag)
    )
      hostile.push({ path: at(offset), message: `YAML tag \`${node.tag}\` is not allowed` });
    if (path.length > MAX_DEPTH * 2) {
      hostile.push({
        path: at(offset),
        message: `nesting deeper than ${String(MAX_DEPTH)} levels`,
      });
      return visit.BREAK;
    }
    return undefined;
  });
  if (hostile.length > 0)
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `${hostile[0]?.path ?? file}: ${hostile[0]?.message ?? "hostile YAML"}`,
      { details: hostile },
    );
  const raw: unknown = yamlDoc.toJS({ maxAliasCount: 0 });
  const result = agreementSchema.safeParse(raw);
  if (!result.success) {
    const details: ErrorDetail[] = result.error.issues.flatMap((issue) => {
      // Walk back up the path until a node with a source position is found.
      let node: unknown;
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      for (let n = path.length; n >= 0 && node === undefined; n--) {
        const candidate = n === 0 ? yamlDoc.contents : yamlDoc.getIn(path.slice(0, n), true);
        if (isNode(candidate)) node = candidate;
      }
      const offset = isNode(node) && node.range ? node.range[0] : 0;
      const dotted = path.length === 0 ? "(document)" : path.join(".");
      // An unknown key is reported where the key is written, not where its mapping starts.
      if (issue.code === "unrecognized_keys" && isMap(node))
        return issue.keys.map((k) => {
          const pair = node.items.find((p) => isScalar(p.key) && p.key.value === k);
          const keyAt = isScalar(pair?.key) ? (pair.key.range?.[0] ?? offset) : offset;
          return { path: at(keyAt), message: `${dotted}: unknown key "${k}"` };
        });
      return [{ path: at(offset), message: `${dotted}: ${issue.message}` }];
    });
    throw new AccordError(
      "ERR_AGREEMENT_INVALID",
      `${details[0]?.path ?? file}: ${details[0]?.message ?? "the agreement is invalid"}`,
      { details },
    );
  }
  const doc = deepFreeze(result.data);
  return Object.freeze({
    doc,
    id: doc.agreement,
    version: doc.version,
    hash: sha256Hex(canonicalize(doc)),
    source,
    effectiveFromMs: Date.parse(`${doc.effective_from}T00:00:00Z`),
    sunsetMs: Date.parse(`${doc.sunset}T00:00:00Z`),
  });
}

/** `regional-cyber-accord v1`: how reasons name an agreement. */
export function agreementLabel(a: Agreement): string {
  return `\`${a.id}\` v${a.version}`;
}

export function isInForce(a: Agreement, at: Date): boolean {
  const t = at.getTime();
  return t >= a.effectiveFromMs && t < a.sunsetMs;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A surrogate pair is 4 bytes: 2 for each half.
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xe000 ? 2 : 3;
  }
  return n;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
