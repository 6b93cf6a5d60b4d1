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
