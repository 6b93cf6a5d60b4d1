/**
 * What changed between two versions of an agreement (spec/agreement.md "Amendments"), clause by
 * clause, over the validated documents (defaults filled in), so a partner reviewing an amendment
 * before signing sees meaning, not layout. Pure; the documents are already validated.
 */
import type { Agreement } from "./parse.js";

export interface ClauseChange {
  /** Dotted clause path, as reasons quote it (`markings.tlp_ceiling`). */
  readonly path: string;
  readonly kind: "added" | "removed" | "changed";
  readonly before?: unknown;
  readonly after?: unknown;
}

export function diffAgreements(before: Agreement, after: Agreement): ClauseChange[] {
  const out: ClauseChange[] = [];
  walk(before.doc, after.doc, "", out);
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function walk(a: unknown, b: unknown, path: string, out: ClauseChange[]): void {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) {
      const p = path === "" ? k : `${path}.${k}`;
      if (!(k in a)) out.push({ path: p, kind: "added", after: b[k] });
      else if (!(k in b)) out.push({ path: p, kind: "removed", before: a[k] });
      else walk(a[k], b[k], p, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b))
    out.push({ path, kind: "changed", before: a, after: b });
}
