/**
 * Properties of the decision engine over random agreements, objects and contexts (fast-check):
 * decisions are deterministic, an agreement denies what it does not mention, adding a
 * prohibition never turns a deny into a permit, and a list of agreements decides as its members
 * one by one (the indexed fast path of decide() changes no answer and no reason).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseAgreement, type Agreement } from "../../src/core/agreement/parse.js";
import { PURPOSES, TLP_LEVELS } from "../../src/core/agreement/schema.js";
import {
  ACTIONS,
  decide,
  type Decision,
  type DecisionContext,
} from "../../src/core/policy/decide.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { TLP2_IDS } from "../../src/core/stix/tlp.js";

const NODES = ["XA", "XB", "XC"] as const;
const TYPES = ["indicator", "malware", "identity", "report"] as const;
const PROPS = ["name", "description", "pattern", "labels", "x_secret", "object_marking_refs"];
const SUBJECTS = ["threat-actor", "victim", "minor", "organisation"];
const AT = new Date("2026-06-01T00:00:00Z");

type Doc = Record<string, unknown> & {
  purposes: { permitted: string[]; prohibited: string[] };
  data: { types: Record<string, unknown>; subjects: { never: string[] } };
};

const docArb: fc.Arbitrary<Doc> = fc
  .record({
    parties: fc.subarray([...NODES], { minLength: 2 }),
    purposes: fc.shuffledSubarray([...PURPOSES], { minLength: 1, maxLength: 6 }),
    split: fc.nat(5),
    types: fc.dictionary(
      fc.constantFrom(...TYPES.slice(0, 3)),
      fc.record({ properties: fc.subarray(PROPS) }),
      { maxKeys: 3 },
    ),
    never: fc.subarray(SUBJECTS),
    ceiling: fc.constantFrom(...TLP_LEVELS),
    unmarked: fc.constantFrom(...TLP_LEVELS),
    onward: fc.boolean(),
    queryTypes: fc.subarray([...TYPES]),
    budget: fc.nat(100),
    release: fc.constantFrom("never", "on-approval", "automatic"),
  })
  .map((r) => {
    const cut = Math.min(Math.max(1, r.split), r.purposes.length);
    return {
      agreement: "random-accord",
      version: 1,
      title: "Random accord",
      parties: r.parties.map((node) => ({ node })),
      purposes: { permitted: r.purposes.slice(0, cut), prohibited: r.purposes.slice(cut) },
      data: { types: r.types, subjects: { never: r.never } },
      markings: { tlp_ceiling: r.ceiling, unmarked_as: r.unmarked },
      retention: { default_days: 30 },
      onward_sharing: { allowed: r.onward },
      queries: { types: r.queryTypes, budget_per_day: r.budget, release: r.release },
      decision_rights: { release: ["duty-officer"] },
      effective_from: "2026-01-01",
      sunset: "2027-01-01",
    };
  });

const objectArb: fc.Arbitrary<StixObject> = fc
  .record({
    type: fc.constantFrom(...TYPES),
    props: fc.subarray(PROPS.filter((p) => p !== "object_marking_refs")),
    tlp: fc.option(fc.constantFrom(...TLP_LEVELS), { nil: undefined }),
    subjects: fc.option(fc.subarray(SUBJECTS), { nil: undefined }),
  })
  .map((r) => {
    const o: Record<string, unknown> = {
      type: r.type,
      spec_version: "2.1",
      id: `${r.type}--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4`,
      created: "2026-05-01T00:00:00.000Z",
      modified: "2026-05-01T00:00:00.000Z",
    };
    for (const p of r.props) o[p] = "x";
    if (r.tlp !== undefined) o.object_marking_refs = [TLP2_IDS[r.tlp]];
    if (r.subjects !== undefined) o.x_accord_subjects = r.subjects;
    return o as StixObject;
  });

const ctxArb: fc.Arbitrary<DecisionContext> = fc
  .record({
    action: fc.constantFrom(...ACTIONS),
    self: fc.constantFrom(...NODES),
    partner: fc.constantFrom(...NODES),
    purpose: fc.constantFrom(...PURPOSES),
    originator: fc.option(fc.constantFrom(...NODES), { nil: undefined }),
    queriesToday: fc.nat(120),
    approved: fc.boolean(),
  })
  .map(({ approved, originator, ...r }) => ({
    ...r,
    at: AT,
    ...(originator === undefined ? {} : { originator }),
    ...(approved ? { approvedBy: ["duty-officer"] } : {}),
    receivedUnder: { agreement: "random-accord", purpose: r.purpose },
  }));

const parse = (d: Doc): Agreement => parseAgreement(stringify(d));

describe("decision properties", () => {
  it("decides deterministically, and the compiled cache changes nothing", () => {
    fc.assert(
      fc.property(docArb, objectArb, ctxArb, (doc, object, ctx) => {
        const a = parse(doc);
        const first = decide(object, ctx, [a]);
        expect(decide(object, ctx, [a]), "same agreement object").toEqual(first);
        expect(decide(object, ctx, [parse(doc)]), "freshly parsed agreement").toEqual(first);
      }),
      { numRuns: 300 },
    );
  });

  it("denies an action on a type or for a purpose the agreement does not mention", () => {
    fc.assert(
      fc.property(docArb, objectArb, ctxArb, (doc, object, ctx) => {
        const a = parse(doc);
        const unmentionedPurpose = !doc.purposes.permitted.includes(ctx.purpose);
        const d = decide(object, ctx, [a]);
        if (unmentionedPurpose) expect(d.effect, "unmentioned purpose").toBe("deny");
        const transfers = ["share", "accept", "release", "onward-share"].includes(ctx.action);
        if (transfers && !(object.type in doc.data.types))
          expect(d.effect, "unmentioned type").toBe("deny");
        if (
          ctx.action === "query" &&
          !(doc.queries as { types: string[] }).types.includes(object.type)
        )
          expect(d.effect, "unmentioned query type").toBe("deny");
        if (!(doc.parties as { node: string }[]).some((p) => p.node === ctx.partner))
          expect(d.effect, "unmentioned partner").toBe("deny");
      }),
      { numRuns: 500 },
    );
  });

  it("never turns a deny into a permit when a prohibition is added", () => {
    fc.assert(
      fc.property(
        docArb,
        objectArb,
        ctxArb,
        fc.constantFrom(...PURPOSES),
        fc.constantFrom(...SUBJECTS),
        (doc, object, ctx, purpose, subject) => {
          const before = decide(object, ctx, [parse(doc)]);
          const permitted = doc.purposes.permitted.filter((p) => p !== purpose);
          fc.pre(permitted.length > 0);
          const stricter: Doc = {
            ...doc,
            purposes: {
              permitted,
              prohibited: [...new Set([...doc.purposes.prohibited, purpose])],
            },
            data: {
              ...doc.data,
              subjects: { never: [...new Set([...doc.data.subjects.never, subject])] },
            },
          };
          const after = decide(object, ctx, [parse(stricter)]);
          if (before.effect === "deny") expect(after.effect, "deny stays deny").toBe("deny");
          if (ctx.purpose === purpose) expect(after.effect, "the prohibited purpose").toBe("deny");
        },
      ),
      { numRuns: 500 },
    );
  });

  it("decides a list as its agreements one by one: first permit, else every denial in order", () => {
    const listArb = fc.array(fc.tuple(docArb, fc.boolean()), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(listArb, objectArb, ctxArb, (docs, object, ctx) => {
        // Some members past their sunset: the list is then not live as a whole (slow path).
        const list = docs.map(([doc, ended], i) =>
          parse({
            ...doc,
            agreement: `random-accord-${String(i)}`,
            ...(ended ? { sunset: "2026-03-01" } : {}),
          }),
        );
        const each = list.map((a) => decide(object, ctx, [a]));
        const permit = each.find((d) => d.effect === "permit");
        const want: Decision =
          permit ??
          (each.length === 1 && each[0] !== undefined
            ? each[0]
            : { effect: "deny", reasons: each.flatMap((d) => d.reasons) });
        expect(decide(object, ctx, list), "first decision over the list").toEqual(want);
        expect(decide(object, ctx, list), "again, from the memo").toEqual(want);
      }),
      { numRuns: 500 },
    );
  });
});
