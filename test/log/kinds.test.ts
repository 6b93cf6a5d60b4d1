/**
 * The registry of log entry kinds (src/core/log-kinds.ts, spec/log.md "Kinds"): every kind has a
 * sample in spec/vectors/log-kinds.json (texts and leaf hashes computed outside this code), every
 * sample validates and reproduces its text and leaf hash, every kind the source code writes is
 * registered, and each kind refuses unknown, missing and mistyped fields naming the kind and the
 * field. Appending through both storage adapters: test/storage/conformance-log.ts.
 */
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeLogEntry, logEntryText } from "../../src/core/log-entry.js";
import { LOG_KINDS, checkLogEntry } from "../../src/core/log-kinds.js";
import { leafHash } from "../../src/tlog/index.js";
import { kindVectors } from "../support/log-entries.js";

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

function refusal(e: { kind: string; at: string; data: Record<string, unknown> }): string {
  try {
    checkLogEntry(e);
  } catch (err) {
    expect(err).toMatchObject({ code: "ERR_MALFORMED_INPUT" });
    return (err as Error).message;
  }
  throw new Error(`\`${e.kind}\` accepted ${JSON.stringify(e.data)}`);
}

/** Every `.ts` file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith(".ts") ? [p] : [];
  });
}

describe("log entry kinds", () => {
  const samples = kindVectors.entries;

  it("has a sample of every registered kind, and registers every sample's kind", () => {
    const sampled = new Set(samples.map((s) => s.entry.kind));
    for (const kind of LOG_KINDS.keys()) expect(sampled.has(kind), kind).toBe(true);
    for (const kind of sampled) expect(LOG_KINDS.has(kind), kind).toBe(true);
  });

  it.each(samples.map((s) => [s.name, s] as const))(
    "accepts the %s sample and reproduces its text and leaf hash",
    (_name, s) => {
      expect(() => {
        checkLogEntry(s.entry);
      }).not.toThrow();
      expect(logEntryText(s.entry)).toBe(s.text);
      expect(hex(leafHash(encodeLogEntry(s.entry)))).toBe(s.leafHash);
    },
  );

  it.each(samples.map((s) => [s.name, s] as const))(
    "refuses the %s sample with an unknown, a missing or a mistyped field",
    (_name, s) => {
      const { kind, data } = s.entry;
      const v = LOG_KINDS.get(kind)?.version ?? 0;
      const head = `\`${kind}\` v${String(v)}: data.`;
      expect(refusal({ ...s.entry, data: { ...data, content: "x" } })).toContain(
        `${head}content is not a field`,
      );
      for (const field of Object.keys(data)) {
        const value = data[field];
        // A field of another type: every schema field is typed, none accepts an object here.
        expect(refusal({ ...s.entry, data: { ...data, [field]: { x: 1 } } })).toContain(
          `${head}${field}`,
        );
        if (value === null) continue;
        const { [field]: _gone, ...rest } = data;
        // Removing a field is refused unless the schema has it optional (then it still validates).
        try {
          checkLogEntry({ ...s.entry, data: rest });
        } catch (err) {
          // A kind whose variant is picked from the data may name another variant's field.
          const variants = typeof LOG_KINDS.get(kind)?.data === "function";
          expect((err as Error).message).toContain(variants ? head : `${head}${field}`);
        }
      }
    },
  );

  it("names the kind of an unregistered entry", () => {
    expect(refusal({ kind: "ledger", at: "2026-05-01T00:00:00Z", data: {} })).toMatch(
      /`ledger` is not registered/,
    );
  });

  it("refuses free text where a kind takes a clause path, and prose where it takes a digest", () => {
    const onward = samples.find((s) => s.entry.kind === "onward-refused")!.entry;
    expect(
      refusal({ ...onward, data: { ...onward.data, reasons: ["denied: XD is not a party"] } }),
    ).toContain("data.reasons is not a field");
    expect(
      refusal({ ...onward, data: { ...onward.data, clauses: ["line one\nline two"] } }),
    ).toContain("data.clauses.0");
    const request = samples.find((s) => s.entry.kind === "match-request")!.entry;
    expect(
      refusal({ ...request, data: { ...request.data, legalBasisDigest: "art. 6(1)(e) GDPR" } }),
    ).toContain("data.legalBasisDigest");
  });

  it("registers every kind the source code passes to the log", () => {
    const written = new Set<string>();
    const call =
      /(?:ledger\.append|ledger\.push|audit\.record)\(\{\s*kind:\s*"([a-z][a-z0-9-]*)"|logKind:\s*"([a-z][a-z0-9-]*)"|kind: event === "retire" \? "([a-z-]+)" : "([a-z-]+)"/g;
    for (const file of sources(join(import.meta.dirname, "../../src"))) {
      for (const m of readFileSync(file, "utf8").matchAll(call))
        for (const k of m.slice(1) as (string | undefined)[]) if (k !== undefined) written.add(k);
    }
    expect(written.size).toBeGreaterThan(30);
    for (const kind of written) expect(LOG_KINDS.has(kind), `${kind} is registered`).toBe(true);
  });
});
