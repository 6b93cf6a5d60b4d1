/**
 * Valid log entries for tests that exercise the log itself (storage, proofs, witnessing): every
 * append is checked against the kind registry (src/core/log-kinds.ts), so tests append registered
 * kinds with well-formed data. `n` makes each entry distinct (its `objects` count and digest);
 * `tag` (a short token) tells entries of one test apart.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** spec/vectors/log-kinds.json: sample entries of every registered kind. */
export interface KindVector {
  readonly name: string;
  /** The version of its kind the sample was written under (src/core/log-kinds.ts). */
  readonly kindVersion: number;
  readonly entry: { kind: string; at: string; data: Record<string, unknown> };
  readonly text: string;
  readonly leafHash: string;
}
export const kindVectors = JSON.parse(
  readFileSync(new URL("../../spec/vectors/log-kinds.json", import.meta.url), "utf8"),
) as {
  readonly source: string;
  readonly entries: readonly KindVector[];
  /** Keyed digests and officer pseudonyms under a test secret (src/core/log-digest.ts). */
  readonly keyedDigests: {
    readonly secret: string;
    readonly texts: readonly { purpose: string; text: string; hmac: string }[];
    readonly officers: readonly { name: string; pseudonym: string }[];
  };
};

export const LOG_T0 = "2026-05-01T00:00:00.000Z";

const hex = (s: string): string => createHash("sha256").update(s).digest("hex");

/** A registered `ingest` entry whose `objects` is `n` (read it back with `entryNumber`). */
export function testEntry(
  n: number,
  options: { tag?: string; at?: string; kind?: "ingest" | "share" | "receipt" } = {},
): { kind: string; at: string; data: Record<string, unknown> } {
  const tag = options.tag ?? "t";
  const at = options.at ?? LOG_T0;
  const digest = hex(`${tag} ${String(n)}`);
  switch (options.kind ?? "ingest") {
    case "share":
      return {
        kind: "share",
        at,
        data: {
          envelope: `${tag}-${String(n)}`,
          recipient: "XB",
          agreement: "test-accord v1",
          purpose: "testing",
          objects: n,
          digest,
        },
      };
    case "receipt":
      return {
        kind: "receipt",
        at,
        data: {
          envelope: `${tag}-${String(n)}`,
          recipient: "XB",
          accepted: n,
          rejected: 0,
          receiptDigest: digest,
        },
      };
    default:
      return {
        kind: "ingest",
        at,
        data: { bundle: `bundle--${tag}-${String(n)}`, objects: n, stored: n, digest },
      };
  }
}

/** The `n` a `testEntry` was made with. */
export function entryNumber(e: { data: Readonly<Record<string, unknown>> }): number {
  const v = e.data.objects ?? e.data.accepted;
  if (typeof v !== "number") throw new Error("not a testEntry");
  return v;
}

/** The tag a `testEntry` was made with. */
export function entryTag(e: { data: Readonly<Record<string, unknown>> }): string {
  const v = e.data.bundle ?? e.data.envelope;
  if (typeof v !== "string") throw new Error("not a testEntry");
  return v.replace(/^bundle--/, "").replace(/-\d+$/, "");
}
