import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parseAgreement, type Agreement } from "../../src/core/agreement/parse.js";
import { applyObligations, decide, type DecisionContext } from "../../src/core/policy/decide.js";
import type { StixObject } from "../../src/core/stix/object.js";

const cyber = parseAgreement(
  readFileSync(
    new URL("../../examples/agreements/regional-cyber-accord.yaml", import.meta.url),
    "utf8",
  ),
);
const fiu = parseAgreement(
  readFileSync(new URL("../../examples/agreements/fiu-mou.yaml", import.meta.url), "utf8"),
);
const AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const AT = new Date("2026-11-26T10:00:00Z");

const share = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  action: "share",
  self: "XA",
  partner: "XB",
  purpose: "cyber-defence",
  at: AT,
  ...over,
});

const suspect: StixObject = {
  type: "identity",
  spec_version: "2.1",
  id: "identity--91b322a3-331d-4bac-94c2-019caaf4b63a",
  created: "2026-11-20T09:00:00.000Z",
  modified: "2026-11-20T09:00:00.000Z",
  name: "Suspect S-1",
  identity_class: "individual",
  x_iban: "DE89 3704 0044 0532 0130 00",
  object_marking_refs: [AMBER],
};
const indicator: StixObject = {
  type: "indicator",
  spec_version: "2.1",
  id: "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
  created: "2026-11-20T08:20:00.000Z",
  modified: "2026-11-20T08:20:00.000Z",
  pattern: "[ipv4-addr:value = '203.0.113.45']",
  pattern_type: "stix",
  valid_from: "2026-11-20T08:20:00Z",
  object_marking_refs: [AMBER],
};

describe("decide", () => {
  it("permits an allowed type and drops a property the agreement does not list, quoting the clause", () => {
    const d = decide(suspect, share(), [cyber]);
    expect(d.effect).toBe("permit");
    if (d.effect !== "permit") return;
    expect(d.agreement).toEqual({ id: "regional-cyber-accord", version: 1, hash: cyber.hash });
    expect(d.obligations.dropProperties).toEqual(["x_iban"]);
    expect(d.reasons.find((r) => r.effect === "drop")?.message).toBe(
      "refused: property `x_iban` is not permitted for `identity` under `regional-cyber-accord` v1 §data.types.identity.properties",
    );
    expect(d.obligations.retentionUntil).toBe("2027-05-25T10:00:00.000Z");
    expect(d.obligations.onwardSharing).toBe(false);
    const out = applyObligations(suspect, d.obligations);
    expect("x_iban" in out).toBe(false);
    expect(out.name).toBe("Suspect S-1");
  });

  it("denies by default when no agreement is held", () => {
    const d = decide(indicator, share(), []);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]?.clause).toBe("default");
  });

  it("denies a recipient that is not a party", () => {
    const d = decide(indicator, share({ partner: "XD" }), [cyber]);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]?.message).toBe(
      "denied: `XD` is not a party under `regional-cyber-accord` v1 §parties",
    );
  });

  it("denies a purpose the agreement does not permit, and says when it prohibits it", () => {
    expect(decide(indicator, share({ purpose: "aml-cft" }), [cyber]).reasons[0]?.clause).toBe(
      "regional-cyber-accord v1 §purposes.permitted",
    );
    expect(
      decide(indicator, share({ purpose: "political-monitoring" }), [cyber]).reasons[0]?.clause,
    ).toBe("regional-cyber-accord v1 §purposes.prohibited");
  });

  it("denies a type the agreement does not list and a marking above the ceiling, reporting both", () => {
    const note: StixObject = {
      ...indicator,
      type: "note",
      id: "note--a5a378b2-9db1-47e7-b023-3c3d42a6184e",
      object_marking_refs: [RED],
    };
    const d = decide(note, share(), [cyber]);
    expect(d.effect).toBe("deny");
    expect(d.reasons.map((r) => r.clause)).toEqual([
      "regional-cyber-accord v1 §data.types",
      "regional-cyber-accord v1 §markings.tlp_ceiling",
    ]);
    expect(d.reasons[1]?.message).toContain("is marked TLP:RED, above the ceiling TLP:AMBER");
  });

  it("takes an unmarked object at the agreement's unmarked_as level", () => {
    const { object_marking_refs: _m, ...unmarked } = indicator;
    expect(decide(unmarked, share(), [cyber]).effect).toBe("permit");
    const strict = parseAgreement(cyber.source.replace("tlp_ceiling: amber", "tlp_ceiling: green"));
    const d = decide(unmarked, share(), [strict]);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]?.message).toContain("unmarked (taken as TLP:AMBER)");
  });

  it("stops at the sunset and before the agreement takes effect", () => {
    expect(
      decide(indicator, share({ at: new Date("2027-06-30T00:00:00Z") }), [cyber]).reasons[0]
        ?.clause,
    ).toBe("regional-cyber-accord v1 §sunset");
    expect(
      decide(indicator, share({ at: new Date("2025-06-30T00:00:00Z") }), [cyber]).reasons[0]
        ?.clause,
    ).toBe("regional-cyber-accord v1 §effective_from");
  });

  it("refuses onward sharing of another node's object without consent", () => {
    const d = decide(indicator, share({ self: "XC", partner: "XB", originator: "XA" }), [cyber]);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]?.clause).toBe("regional-cyber-accord v1 §onward_sharing");
  });

  it("on accept, denies an object carrying a property it should not, instead of dropping it", () => {
    const d = decide(suspect, { ...share(), action: "accept", self: "XB", partner: "XA" }, [cyber]);
    expect(d.effect).toBe("deny");
    expect(d.reasons[0]?.message).toContain("property `x_iban` is not permitted for `identity`");
  });

  it("picks the agreement that permits the purpose among several, and honours an explicit agreement id", () => {
    expect(decide(indicator, share(), [fiu, cyber]).effect).toBe("permit");
    const onlyFiu = decide(indicator, share({ agreementId: "fiu-mou" }), [fiu, cyber]);
    expect(onlyFiu.effect).toBe("deny");
    expect(onlyFiu.reasons.every((r) => r.clause.startsWith("fiu-mou"))).toBe(true);
  });

  it("denies, for any object, every type an agreement does not list (property)", () => {
    const listed = new Set(Object.keys(cyber.doc.data.types));
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z][a-z0-9-]{1,20}[a-z0-9]$/),
        fc.boolean(),
        (type, marked) => {
          fc.pre(!listed.has(type));
          const o: StixObject = {
            ...indicator,
            type,
            id: `${type}--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4`,
            ...(marked ? {} : { object_marking_refs: undefined }),
          };
          const d = decide(o, share(), [cyber]);
          expect(d.effect, "unlisted type is denied").toBe("deny");
          expect(
            d.reasons.some((r) => r.clause.endsWith("§data.types")),
            "the reason names §data.types",
          ).toBe(true);
        },
      ),
    );
  });

  it("never lets a property outside the allowlist travel, and decides the same way twice (property)", () => {
    const allowed = new Set([
      ...(cyber.doc.data.types.indicator?.properties ?? []),
      "type",
      "spec_version",
      "id",
      "created",
      "modified",
    ]);
    fc.assert(
      fc.property(
        fc.dictionary(fc.stringMatching(/^[a-z_]{3,12}$/), fc.string(), { maxKeys: 8 }),
        (extra) => {
          const o = { ...extra, ...indicator };
          const d1 = decide(o, share(), [cyber]);
          const d2 = decide(o, share(), [cyber]);
          expect(d2, "deterministic").toEqual(d1);
          if (d1.effect !== "permit") return;
          const out = applyObligations(o, d1.obligations);
          for (const k of Object.keys(out))
            expect(allowed.has(k), `property ${k} is allowed`).toBe(true);
        },
      ),
    );
  });

  it("denies everything under a random agreement when the purpose is not among its permitted ones (property)", () => {
    const agreements: Agreement[] = [cyber, fiu];
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{3,12}$/), (purpose) => {
        fc.pre(purpose !== "cyber" && !["cyber-defence", "aml-cft"].includes(purpose));
        expect(
          decide(indicator, share({ purpose }), agreements).effect,
          "unknown purpose denied",
        ).toBe("deny");
      }),
    );
  });
});
