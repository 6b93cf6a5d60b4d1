/**
 * Parse an agreement document: YAML -> schema validation -> an immutable `Agreement` with its
 * canonical hash (RFC 8785 JCS over the validated document, SHA-256). Errors carry file, line and
 * column and say what was expected; all problems are reported together.
 */
import { LineCounter, parseDocument, isNode } from "yaml";
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

const MAX_SOURCE_BYTES = 1 << 20;

export function parseAgreement(source: string, file = "<agreement>"): Agreement {
  if (source.length > MAX_SOURCE_BYTES)
    throw new AccordError("ERR_AGREEMENT_INVALID", `${file}: the agreement is larger than 1 MiB`);
  const lineCounter = new LineCounter();
  const yamlDoc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
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
  const raw: unknown = yamlDoc.toJS({ maxAliasCount: 50 });
  const result = agreementSchema.safeParse(raw);
  if (!result.success) {
    const details: ErrorDetail[] = result.error.issues.map((issue) => {
      // Walk back up the path until a node with a source position is found.
      let node: unknown;
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      for (let n = path.length; n >= 0 && node === undefined; n--) {
        const candidate = n === 0 ? yamlDoc.contents : yamlDoc.getIn(path.slice(0, n), true);
        if (isNode(candidate)) node = candidate;
      }
      const offset = isNode(node) && node.range ? node.range[0] : 0;
      const dotted = path.length === 0 ? "(document)" : path.join(".");
      return { path: at(offset), message: `${dotted}: ${issue.message}` };
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

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
