/**
 * The regression corpus of hostile objects (test/minimize/corpus/*.json): personal data hidden in
 * descriptions, labels, names, pattern values and comments, extensions, external references,
 * granular-marking selectors, nested lists, and behind Unicode look-alikes and zero-width
 * characters. Each case names its profile and what must (not) survive.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { minimize, normalizeText, type SourceGrade } from "../../src/core/minimize/index.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { TLP_MARKING_DEFINITIONS } from "../../src/core/stix/tlp.js";
import { validateObject } from "../../src/core/stix/validate.js";
import { CTX, exampleProfile } from "./support.js";

interface Case {
  readonly note: string;
  readonly profile: string;
  readonly grade?: SourceGrade;
  readonly object: StixObject;
  readonly want: {
    readonly refused?: string[];
    readonly absent?: string[];
    readonly absent_keys?: string[];
    readonly present?: string[];
  };
}

const DIR = new URL("./corpus/", import.meta.url);
const cases = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => [f, JSON.parse(readFileSync(new URL(f, DIR), "utf8")) as Case] as const);

describe("hostile corpus", () => {
  it("holds at least twenty cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)("%s", (_file, c) => {
    expect(validateObject(c.object), "the fixture itself is valid STIX").toEqual([]);
    const r = minimize(
      c.object,
      exampleProfile(c.profile),
      c.grade === undefined ? CTX : { ...CTX, sourceGrade: c.grade },
    );
    if (c.want.refused !== undefined) {
      expect("refused" in r, c.note).toBe(true);
      if (!("refused" in r)) return;
      expect([...new Set(r.refused.map((x) => x.code))].sort(), c.note).toEqual(
        [...c.want.refused].sort(),
      );
      const said = JSON.stringify(r);
      for (const s of c.want.absent ?? [])
        expect(said, "a refusal never quotes the value").not.toContain(s);
      return;
    }
    expect("object" in r, `${c.note}: ${JSON.stringify("refused" in r ? r.refused : [])}`).toBe(
      true,
    );
    if (!("object" in r)) return;
    expect(validateObject(r.object), "the output is valid STIX").toEqual([]);
    const text = JSON.stringify(r.object);
    const folded = normalizeText(text);
    for (const s of c.want.absent ?? []) {
      expect(text, `${c.note}: output holds ${s}`).not.toContain(s);
      expect(folded, `${c.note}: normalised output holds ${s}`).not.toContain(normalizeText(s));
      expect(JSON.stringify(r.report), "the report never quotes a value").not.toContain(s);
    }
    for (const s of c.want.absent_keys ?? [])
      expect(text, `${c.note}: output holds ${s}`).not.toContain(s);
    for (const s of c.want.present ?? []) expect(text, c.note).toContain(s);
  });
});

describe("shared definitions", () => {
  it.each(TLP_MARKING_DEFINITIONS.map((m) => [m.id, m] as const))(
    "travel unchanged: %s",
    (_id, marking) => {
      for (const profile of ["cyber-default", "strict"]) {
        const r = minimize(marking, exampleProfile(profile), {
          ...CTX,
          sourceGrade: { scheme: "admiralty", reliability: "A", credibility: 1 },
        });
        expect(
          "object" in r && r.object,
          `${profile} keeps the TLP definition as published`,
        ).toEqual(marking);
      }
    },
  );
});

describe("joins", () => {
  it("gives one address the same token in an observable, a pattern and free text", () => {
    const profile = exampleProfile("cyber-default");
    const address = "K.Varga.Invoices@mailbox.example";
    const token = (o: StixObject): string => {
      const r = minimize(o, profile, CTX);
      if (!("object" in r)) throw new Error("refused");
      const m = /pseu-v1-[A-Za-z0-9_-]{22}@pseudonym\.invalid/.exec(JSON.stringify(r.object));
      return m?.[0] ?? "none";
    };
    const common = {
      spec_version: "2.1",
      created: "2026-11-20T08:10:00.000Z",
      modified: "2026-11-20T08:10:00.000Z",
    };
    const a = token({
      type: "email-addr",
      id: "email-addr--13f3d860-f00a-4986-98dd-537308ef22e7",
      spec_version: "2.1",
      value: address,
    });
    const b = token({
      ...common,
      type: "indicator",
      id: "indicator--6b1c1a8e-3f2d-4c5b-9a7e-1d2c3b4a5f60",
      name: "sender",
      pattern: `[email-message:from_ref.value = '${address.toLowerCase()}']`,
      pattern_type: "stix",
      valid_from: "2026-11-20T08:00:00.000Z",
    });
    const c = token({
      ...common,
      type: "malware",
      id: "malware--7c2d2b9f-4a3e-4d6c-8b8f-2e3d4c5b6a71",
      name: "GlacierLock",
      is_family: true,
      description: `ransom notes signed ${address.toUpperCase()}`,
    });
    expect(a).not.toBe("none");
    expect(b, "pattern value joins with the observable").toBe(a);
    expect(c, "free text joins with the observable").toBe(a);
  });
});
