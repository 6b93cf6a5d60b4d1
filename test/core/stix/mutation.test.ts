/**
 * Mutations: valid objects, broken one way at a time, must be refused by both the OASIS schemas and
 * Accord's validator, and our issue must name the object and the JSONPath of what was broken.
 *
 * 1. Every object of the OASIS examples, under each applicable mutation.
 * 2. fast-check (./arbitraries.ts): a generated valid object (sixteen types) validates under both;
 *    a random single corruption of it is caught by both, with the expected code and path.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validateObject, type StixIssue } from "../../../src/core/stix/validate.js";
import { CORRUPTIONS, isSco, validObject, without, type Obj } from "./arbitraries.js";
import { examples, HAVE_DATA, loadOracle, objectsOf, schemaAccepts } from "./oasis.js";

const SKIP_REASON = HAVE_DATA
  ? ""
  : " (skipped: ../shared/data is absent; the OASIS schemas are the oracle)";

const UUID = "0b3a5b8a-6d4c-4d5e-9f10-2a3b4c5d6e7f";

/** Required properties per type, from the schemas (the SDO/SRO core adds its five). */
const REQUIRED: Readonly<Record<string, readonly string[]>> = {
  "attack-pattern": ["name"],
  campaign: ["name"],
  "course-of-action": ["name"],
  identity: ["name"],
  indicator: ["pattern", "pattern_type", "valid_from"],
  infrastructure: ["name"],
  "intrusion-set": ["name"],
  malware: ["is_family"],
  report: ["name", "published", "object_refs"],
  relationship: ["relationship_type", "source_ref", "target_ref"],
  "threat-actor": ["name"],
  tool: ["name"],
  vulnerability: ["name"],
  "ipv4-addr": ["value"],
  "domain-name": ["value"],
};
const SDO_CORE = ["spec_version", "id", "created", "modified"];

interface Mutation {
  readonly name: string;
  /** The broken copy, or undefined when the mutation does not apply to this object. */
  readonly apply: (o: Obj) => Obj | undefined;
  /** The issue we must report: code and path (relative to the object). */
  readonly code: string;
  readonly path: (o: Obj) => string;
}

function mutations(o: Obj): Mutation[] {
  const type = o.type as string;
  const required = [...(isSco(o) ? ["id"] : SDO_CORE), ...(REQUIRED[type] ?? [])];
  const out: Mutation[] = required.map((key) => ({
    name: `drops required \`${key}\``,
    apply: (x) => without(x, key),
    code: "required",
    path: () => `$.${key}`,
  }));
  out.push(
    {
      name: "puts month 13 in `created`",
      apply: (x) => (isSco(x) ? undefined : { ...x, created: "2016-13-07T11:22:30.000Z" }),
      code: "format.timestamp",
      path: () => "$.created",
    },
    {
      name: "drops the milliseconds of `modified`",
      apply: (x) =>
        isSco(x) ? undefined : { ...x, modified: (x.modified as string).replace(/\.\d+Z$/, "Z") },
      code: "format.timestamp-precision",
      path: () => "$.modified",
    },
    {
      name: "truncates the UUID of `id`",
      apply: (x) => ({ ...x, id: `${type}--1234` }),
      code: "format.identifier",
      path: () => "$.id",
    },
    {
      name: "gives `id` another type",
      apply: (x) => ({ ...x, id: `${type === "identity" ? "tool" : "identity"}--${UUID}` }),
      code: "id-type",
      path: () => "$.id",
    },
    {
      name: "points `source_ref` at a marking definition",
      apply: (x) =>
        type === "relationship" ? { ...x, source_ref: `marking-definition--${UUID}` } : undefined,
      code: "ref-type",
      path: () => "$.source_ref",
    },
    {
      name: "sets `spec_version` outside its enumeration",
      apply: (x) => ({ ...x, spec_version: "2.2" }),
      code: "enum",
      path: () => "$.spec_version",
    },
    {
      name: "adds a custom property with an invalid name",
      apply: (x) => ({ ...x, "Bad-Name": true }),
      code: "format.property-name",
      path: () => "$['Bad-Name']",
    },
    {
      name: "adds a custom property of two characters",
      apply: (x) => ({ ...x, xy: 1 }),
      code: "format.property-name",
      path: () => "$.xy",
    },
    {
      name: "empties `labels`",
      apply: (x) => (isSco(x) ? undefined : { ...x, labels: [] }),
      code: "empty",
      path: () => "$.labels",
    },
    {
      name: "sets `name` to null",
      apply: (x) => (typeof x.name === "string" ? { ...x, name: null } : undefined),
      code: "type",
      path: () => "$.name",
    },
    {
      name: "uses the reserved property `severity`",
      apply: (x) => ({ ...x, severity: "high" }),
      code: "reserved",
      path: () => "$.severity",
    },
  );
  return out;
}

function issueSummary(issues: readonly StixIssue[]): string[] {
  return issues.map((i) => `${i.code} ${i.path} ${i.objectId ?? "-"}`);
}

describe.skipIf(!HAVE_DATA)(`mutations of the OASIS examples${SKIP_REASON}`, () => {
  const objects: Obj[] = HAVE_DATA ? examples().flatMap((f) => objectsOf(f.json) as Obj[]) : [];

  it("starts from objects both validators accept", () => {
    expect(objects.length).toBe(260);
    for (const o of objects) {
      expect(schemaAccepts(loadOracle(), o), String(o.id)).toBe(true);
      expect(validateObject(o), String(o.id)).toEqual([]);
    }
  });

  it("has every mutation refused by both, and names the object and the path", () => {
    const oracle = loadOracle();
    const applied: Record<string, number> = {};
    for (const o of objects) {
      for (const m of mutations(o)) {
        const broken = m.apply(o);
        if (broken === undefined) continue;
        applied[m.name] = (applied[m.name] ?? 0) + 1;
        const label = `${String(o.id)} ${m.name}`;
        expect(schemaAccepts(oracle, broken), `${label}: schema`).toBe(false);
        const issues = validateObject(broken);
        const expectedId = typeof broken.id === "string" ? broken.id : "-";
        expect(issueSummary(issues), `${label}: ours`).toContain(
          `${m.code} ${m.path(o)} ${expectedId}`,
        );
      }
    }
    // Every mutation ran somewhere.
    expect(Object.keys(applied).length, JSON.stringify(applied)).toBeGreaterThanOrEqual(14);
  });
});

describe("generated objects, our validator alone (runs without ../shared/data)", () => {
  it("validate", () => {
    fc.assert(
      fc.property(validObject, (o) => {
        expect(issueSummary(validateObject(o)), JSON.stringify(o)).toEqual([]);
      }),
      { numRuns: 1000 },
    );
  });

  it("are refused after any single corruption, with its code and path", () => {
    fc.assert(
      fc.property(validObject, fc.nat(), (o, pick) => {
        const candidates = CORRUPTIONS.filter((c) => c.applies(o));
        const c = candidates[pick % candidates.length]!;
        expect(
          validateObject(c.apply(o)).map((i) => [i.code, i.path]),
          c.name,
        ).toContainEqual([c.code, c.path]);
      }),
      { numRuns: 1000 },
    );
  });
});

describe.skipIf(!HAVE_DATA)(`generated objects, against the schemas${SKIP_REASON}`, () => {
  it("validate under both validators", () => {
    const oracle = loadOracle();
    fc.assert(
      fc.property(validObject, (o) => {
        expect(issueSummary(validateObject(o)), `ours: ${JSON.stringify(o)}`).toEqual([]);
        expect(schemaAccepts(oracle, o), `schema: ${JSON.stringify(o)}`).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("are refused by both after any single corruption, with the corruption's code and path", () => {
    const oracle = loadOracle();
    fc.assert(
      fc.property(validObject, fc.nat(), (o, pick) => {
        const candidates = CORRUPTIONS.filter((c) => c.applies(o));
        const c = candidates[pick % candidates.length]!;
        const broken = c.apply(o);
        expect(schemaAccepts(oracle, broken), `schema refuses after "${c.name}"`).toBe(false);
        const issues = validateObject(broken);
        expect(
          issues.map((i) => [i.code, i.path]),
          `ours names "${c.name}"`,
        ).toContainEqual([c.code, c.path]);
        const id = broken.id;
        if (typeof id === "string")
          expect(
            issues.every((i) => i.objectId === id),
            "every issue carries the object id",
          ).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});
