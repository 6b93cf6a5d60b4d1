/**
 * The hand-written check of `decisions` entries (src/core/log-kinds.ts `acceptsDecisions`) against
 * the kind's zod schema, which stays the definition: on the spec/vectors/log-kinds.json samples, on
 * a share's real batches, and on every malformed variant below (each field of each level removed,
 * retyped, out of bounds or joined by an unknown key; random values in random places), the check
 * and the schema accept and refuse the same inputs. `checkLogEntry` only trusts the check's yes,
 * so a refusal still carries the schema's message naming the field.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decisionEntries } from "../../src/app/decision-log.js";
import { LOG_KINDS, acceptsDecisions, checkLogEntry } from "../../src/core/log-kinds.js";
import { kindVectors } from "../support/log-entries.js";

const kind = LOG_KINDS.get("decisions");
if (kind === undefined || typeof kind.data === "function") throw new Error("no decisions schema");
const schema = kind.data;
const zodAccepts = (data: unknown): boolean => schema.safeParse(data).success;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const samples = kindVectors.entries
  .filter((s) => s.entry.kind === "decisions")
  .map((s) => s.entry.data as Record<string, Json>);

/** A share's batch as node.ts writes it: permits with minimization changes, and a deny. */
const shareBatch = decisionEntries(
  "2026-05-01T09:00:00.000Z",
  { action: "share", partner: "XB", purpose: "cyber-defence" },
  [
    {
      object: "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
      version: "2026-04-30T10:00:00.000Z",
      effect: "permit",
      agreement: "regional-cyber-accord v1",
      clauses: ["regional-cyber-accord v1 §rules[0]"],
      dropped: ["x_internal_source"],
      profile: "cyber-default",
      minimized: [
        { path: "id", action: "reissued" },
        { path: "pattern", action: "pseudonymized", kind: "email" },
      ],
      sentAs: "indicator--6ba7b810-9dad-51d1-80b4-00c04fd430c8",
    },
    {
      object: "malware--6ba7b810-9dad-41d1-80b4-00c04fd430c8",
      version: "",
      effect: "deny",
      agreement: null,
      clauses: ["default"],
      dropped: [],
      profile: null,
      minimized: [],
      sentAs: null,
    },
  ],
)[0]?.data as Record<string, Json>;

const bases: Record<string, Json>[] = [...samples, shareBatch];

/** Values of every type and at every bound the schema's fields have. */
const WRONG: readonly unknown[] = [
  undefined,
  null,
  0,
  -1,
  1.5,
  true,
  "",
  "x",
  "a b",
  " lead",
  "é",
  "line\nbreak",
  "cr\r",
  "tab\tin",
  "x".repeat(64),
  "x".repeat(65),
  "x".repeat(128),
  "x".repeat(129),
  "x".repeat(256),
  "x".repeat(257),
  "x".repeat(512),
  "x".repeat(513),
  "agreement v1",
  "agreement v1234567890",
  "agreement v",
  "permit",
  "deny",
  "share",
  "accept",
  "release",
  "refuse",
  {},
  [],
  [""],
  ["x"],
  ["a\nb"],
  [1],
  [null],
  [{}],
  [{ path: "p", action: "removed" }],
  [{ path: "p", action: "removed", kind: "email" }],
  [{ path: "p", action: "removed", extra: 1 }],
  [{ path: "p", action: "two words" }],
  [{ path: "p".repeat(513), action: "removed" }],
  Array.from({ length: 1000 }, () => "x"),
  Array.from({ length: 1001 }, () => "x"),
  // eslint-disable-next-line no-sparse-arrays -- a hole reads as undefined
  ["x", , "y"],
  new Date(0),
  new Map(),
  Object.create({ inherited: 1 }) as unknown,
  Object.assign(Object.create(null) as object, { object: "x" }),
];

/** Every path to a value inside `v` (object keys and array indexes). */
function paths(v: Json, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v !== null && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

/** `v` with the value at `path` replaced (or deleted, for `undefined` with `remove`). */
function setAt(
  v: Json,
  path: readonly (string | number)[],
  value: unknown,
  remove = false,
): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(v)) {
    const copy: unknown[] = [...v];
    copy[head as number] = setAt(v[head as number] ?? null, rest, value, remove);
    return copy;
  }
  const copy: Record<string, unknown> = { ...(v as Record<string, Json>) };
  if (remove && rest.length === 0) Reflect.deleteProperty(copy, head as string);
  else
    copy[head as string] = setAt(
      (v as Record<string, Json>)[head as string] ?? null,
      rest,
      value,
      remove,
    );
  return copy;
}

function agree(data: unknown, what: string): void {
  expect(acceptsDecisions(data), what).toBe(zodAccepts(data));
}

describe("the hand-written `decisions` check", () => {
  it("accepts every `decisions` sample and a share's batch, as the schema does", () => {
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const b of bases) {
      expect(zodAccepts(b)).toBe(true);
      expect(acceptsDecisions(b)).toBe(true);
    }
  });

  it("refuses what the schema refuses, field by field", () => {
    let refused = 0;
    let variants = 0;
    for (const base of bases) {
      for (const path of paths(base)) {
        const label = `${JSON.stringify(base.action)} at ${path.join(".") || "(data)"}`;
        agree(setAt(base, path, undefined, true), `${label} removed`);
        for (const w of WRONG) {
          const data = setAt(base, path, w);
          agree(data, `${label} = ${typeof w === "string" ? w : typeof w}`);
          variants++;
          if (!zodAccepts(data)) refused++;
        }
        // An unknown key at every object level, even one whose value is undefined.
        const target = path.reduce<unknown>(
          (v, k) => (v as Record<string | number, unknown>)[k],
          base,
        );
        if (target !== null && typeof target === "object" && !Array.isArray(target)) {
          agree(setAt(base, [...path, "content"], "x"), `${label} + content`);
          agree(setAt(base, [...path, "content"], undefined), `${label} + content: undefined`);
        }
      }
    }
    // The variants are mostly malformed: the comparison is about refusals, not only acceptance.
    expect(refused).toBeGreaterThan(variants / 2);
  });

  it("refuses an empty batch, an oversized one and an unknown action, as the schema does", () => {
    const [first] = bases;
    if (first === undefined) throw new Error("no sample");
    const one = (first.decisions as Json[])[0] ?? null;
    agree({ ...first, decisions: [] }, "empty");
    agree({ ...first, decisions: Array.from({ length: 10_000 }, () => one) }, "10,000");
    agree({ ...first, decisions: Array.from({ length: 10_001 }, () => one) }, "10,001");
    for (const action of ["query", "refuse", "", undefined, 1, "Share"])
      agree({ ...first, action }, `action ${String(action)}`);
    for (const data of [null, [], "x", 1, Object.create(null) as unknown]) agree(data, typeof data);
  });

  it("agrees with the schema on random values in random places", () => {
    const json = fc.oneof(
      fc.constantFrom(...WRONG),
      fc.jsonValue({ maxDepth: 3 }),
      fc.string({ unit: "binary-ascii", maxLength: 300 }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.nat(),
        json,
        fc.boolean(),
        (base, pick, value, remove) => {
          const all = paths(base);
          const path = all[pick % all.length] ?? [];
          const data = setAt(base, path, value, remove);
          return acceptsDecisions(data) === zodAccepts(data);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("leaves refusals to the schema, whose message names the field", () => {
    const [first] = bases;
    if (first === undefined) throw new Error("no sample");
    const bad = setAt(first, ["decisions", 0, "clauses", 0], "a\nb") as Record<string, unknown>;
    expect(() => {
      checkLogEntry({ kind: "decisions", at: "2026-05-01T09:00:00.000Z", data: bad });
    }).toThrow(/`decisions` v1: data\.decisions\.0\.clauses\.0 one line/);
  });
});
