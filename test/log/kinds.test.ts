/**
 * The registry of log entry kinds (src/core/log-kinds.ts, spec/log.md "Kinds"): every kind has a
 * sample in spec/vectors/log-kinds.json (texts and leaf hashes computed outside this code), every
 * sample validates and reproduces its text and leaf hash, every kind the source code writes is
 * registered, and each kind refuses unknown, missing and mistyped fields naming the kind and the
 * field. Appending through both storage adapters: test/storage/conformance-log.ts.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeLogEntry, logEntryText } from "../../src/core/log-entry.js";
import { LOG_KINDS, checkLogEntry } from "../../src/core/log-kinds.js";
import { LogDigests, type LogTextPurpose } from "../../src/core/log-digest.js";
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
          const message = (err as Error).message;
          // A kind whose variant is picked from the data may name another variant's field; a
          // field an earlier version wrote is missed under its replacement's name, naming it.
          const variants = typeof LOG_KINDS.get(kind)?.data === "function";
          if (variants) expect(message).toContain(head);
          else if (!message.includes(`${head}${field}`)) {
            expect(message).toContain(head);
            expect(message).toContain(`is required (or \`${field}\``);
          }
        }
      }
    },
  );

  it("has a sample of every kind at its current version, and none from a later one", () => {
    for (const [kind, k] of LOG_KINDS) {
      const versions = samples.filter((s) => s.entry.kind === kind).map((s) => s.kindVersion);
      expect(versions, kind).toContain(k.version);
      expect(Math.max(...versions), kind).toBe(k.version);
    }
  });

  it("reproduces the keyed digests and officer pseudonyms computed independently", () => {
    const v = kindVectors.keyedDigests;
    const digests = new LogDigests(new Uint8Array(Buffer.from(v.secret, "base64url")));
    expect(v.texts.length).toBeGreaterThan(3);
    for (const t of v.texts)
      expect(digests.text(t.purpose as LogTextPurpose, t.text), `${t.purpose}: ${t.text}`).toBe(
        t.hmac,
      );
    for (const o of v.officers) expect(digests.officer(o.name), o.name).toBe(o.pseudonym);
    // The purpose is part of the message: the same words are another digest as a legal basis.
    expect(digests.text("recall-reason", "x")).not.toBe(digests.text("legal-basis", "x"));
    // And neither is the plain SHA-256 a reader of the log could compute from a guess.
    expect(digests.text("legal-basis", "x")).not.toBe(
      createHash("sha256").update("x").digest("hex"),
    );
  });

  it("keeps v1's plain digests and officer names valid in old entries, and refuses them beside their v2 replacement", () => {
    const cases: [string, string, string][] = [
      ["recall v2", "reasonDigest", "reasonHmac"],
      ["match-request v2", "legalBasisDigest", "legalBasisHmac"],
      ["decision officer without the role v2", "officer", "officerPseudonym"],
    ];
    for (const [name, old, instead] of cases) {
      const s = samples.find((x) => x.name === name)!;
      const v1 = samples.find((x) => x.name === name.replace(/ v2$/, ""))!;
      expect(v1.kindVersion).toBe(1);
      expect(Object.keys(v1.entry.data)).toContain(old);
      expect(Object.keys(s.entry.data)).toContain(instead);
      expect(Object.keys(s.entry.data)).not.toContain(old);
      expect(
        refusal({ ...s.entry, data: { ...s.entry.data, [old]: v1.entry.data[old] } }),
        name,
      ).toContain(`data.${old} is written only by earlier versions of this kind`);
      const { [instead]: _gone, ...neither } = s.entry.data;
      expect(refusal({ ...s.entry, data: neither }), name).toContain(`data.${instead} is required`);
    }
    // An officer's name is not a pseudonym.
    const d = samples.find((x) => x.name === "match-request-decision v2")!.entry;
    expect(refusal({ ...d, data: { ...d.data, officerPseudonym: "duty-officer-1" } })).toContain(
      "data.officerPseudonym",
    );
  });

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
    const keyed = samples.find((s) => s.name === "match-request v2")!.entry;
    expect(
      refusal({ ...keyed, data: { ...keyed.data, legalBasisHmac: "art. 6(1)(e) GDPR" } }),
    ).toContain("data.legalBasisHmac");
    // The kinds registered ahead of oversight and redress take the same care.
    const sanction = samples.find((s) => s.entry.kind === "sanction")!.entry;
    expect(
      refusal({
        ...sanction,
        data: { ...sanction.data, basisHmac: "purpose limitation breached" },
      }),
    ).toContain("data.basisHmac");
    const redress = samples.find((s) => s.entry.kind === "redress-step")!.entry;
    expect(
      refusal({ ...redress, data: { ...redress.data, subject: "Jane Doe, born 1980-01-01" } }),
    ).toContain("data.subject is not a field");
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
