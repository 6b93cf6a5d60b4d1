/**
 * The outbound gate's use of minimization (src/app/minimization.ts): denials when the node cannot
 * minimize (no secret, unknown profile) quote §minimization.profile; whose grade an object
 * carries; the grade extension read from attacker-controlled objects.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { gradeOf, Minimizer, withoutGrade } from "../../src/app/minimization.js";
import {
  minimize,
  parseProfile,
  SOURCE_GRADE_EXTENSION_ID,
  type SourceGrade,
} from "../../src/core/minimize/index.js";
import type { StixObject } from "../../src/core/stix/object.js";

const profiles = new Map(
  ["strict", "cyber-default"].map((n) => [
    n,
    parseProfile(
      readFileSync(new URL(`../../examples/profiles/${n}.yaml`, import.meta.url), "utf8"),
    ),
  ]),
);
const B2: SourceGrade = { scheme: "admiralty", reliability: "B", credibility: 2 };
const AGREEMENT = { id: "regional-cyber-accord", version: 1, hash: "0".repeat(64) };
const email: StixObject = {
  type: "email-addr",
  spec_version: "2.1",
  id: "email-addr--13f3d860-f00a-4986-98dd-537308ef22e7",
  value: "k.varga.invoices@mailbox.example",
};
const withGrade = (g: unknown): StixObject => ({
  ...email,
  extensions: { [SOURCE_GRADE_EXTENSION_ID]: g, "x-other-ext": { a: 1 } } as never,
});
const setup = {
  secret: new Uint8Array(32).fill(7),
  profiles,
  sourceGrade: B2,
  epoch: () => 0,
};

describe("the minimizer on the outbound gate", () => {
  it("denies when the node has no minimization secret, quoting the clause", () => {
    const r = new Minimizer("XA", undefined).run(email, AGREEMENT, "cyber-default", B2);
    expect(r.effect).toBe("deny");
    if (r.effect !== "deny") return;
    expect(r.reasons[0]?.clause).toBe("regional-cyber-accord v1 §minimization.profile");
    expect(r.reasons[0]?.message).toContain("no minimization secret");
  });

  it("denies an unknown profile and minimizes under a known one", () => {
    const m = new Minimizer("XA", setup);
    const unknown = m.run(email, AGREEMENT, "lenient", B2);
    expect(unknown.effect).toBe("deny");
    const ok = m.run(email, AGREEMENT, "cyber-default", B2);
    expect(ok.effect).toBe("permit");
    if (ok.effect !== "permit") return;
    expect(ok.object.value).toMatch(/^pseu-v1-/);
    expect(JSON.stringify(ok)).not.toContain("k.varga");
    const refused = m.run(email, AGREEMENT, "strict", B2);
    expect(refused.effect).toBe("deny");
    if (refused.effect !== "deny") return;
    expect(refused.reasons.every((x) => x.clause.endsWith("§minimization.profile"))).toBe(true);
  });

  it("grades this node's objects with the default unless they carry a grade; others' only with theirs", () => {
    const m = new Minimizer("XA", setup);
    expect(m.gradeFor(email, "XA")).toEqual(B2);
    expect(m.gradeFor(email, "XB")).toBeUndefined();
    const c3 = withGrade({
      extension_type: "property-extension",
      scheme: "admiralty",
      reliability: "C",
      credibility: 3,
      code: "C3",
    });
    expect(m.gradeFor(c3, "XB")).toEqual({ scheme: "admiralty", reliability: "C", credibility: 3 });
  });

  it("reads the grade extension defensively and strips only it", () => {
    expect(gradeOf(email)).toBeUndefined();
    for (const bad of [
      null,
      "B2",
      [],
      {
        extension_type: "property-extension",
        scheme: "admiralty",
        reliability: "G",
        credibility: 2,
      },
      {
        extension_type: "property-extension",
        scheme: "europol-4x4",
        reliability: "B",
        credibility: 5,
      },
      {
        extension_type: "property-extension",
        scheme: "admiralty",
        reliability: "B",
        credibility: 2.5,
      },
      {
        extension_type: "property-extension",
        scheme: "admiralty",
        reliability: "B",
        credibility: 2,
        code: "A1",
      },
      {
        extension_type: "toplevel-property-extension",
        scheme: "admiralty",
        reliability: "B",
        credibility: 2,
      },
    ])
      expect(gradeOf(withGrade(bad)), JSON.stringify(bad)).toBe("malformed");
    const graded = withGrade({
      extension_type: "property-extension",
      scheme: "europol-4x4",
      reliability: "X",
      credibility: 4,
    });
    expect(gradeOf(graded)).toEqual({ scheme: "europol-4x4", reliability: "X", credibility: 4 });
    expect(withoutGrade(graded).extensions).toEqual({ "x-other-ext": { a: 1 } });
    expect(withoutGrade(email)).toBe(email);
  });
});

describe("reports never quote a dictionary key that holds personal data", () => {
  const ext = "extension-definition--1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";
  const object: StixObject = {
    type: "indicator",
    spec_version: "2.1",
    id: "indicator--6b1c1a8e-3f2d-4c5b-9a7e-1d2c3b4a5f60",
    created: "2026-11-20T08:10:00.000Z",
    modified: "2026-11-20T08:10:00.000Z",
    pattern: "[domain-name:value = 'glacier-pay.example']",
    pattern_type: "stix",
    valid_from: "2026-11-20T08:00:00.000Z",
    extensions: {
      [ext]: { extension_type: "property-extension", "agent.k@service.example": "handler" },
    },
  };
  const profileWith = (path: string) =>
    parseProfile(
      `profile: keys\nversion: 1\ntypes:\n  indicator:\n    properties: [pattern, pattern_type, valid_from, "${path}"]\n`,
    );
  const ctx = {
    agreementId: "a",
    epoch: 0,
    keys: { pseudonym: new Uint8Array(32), ids: new Uint8Array(32) },
  };

  it.each([
    ["a whole extension allowed", "extensions.*"],
    ["one field of an extension allowed", "extensions.*.extension_type"],
  ])("%s", (_note, path) => {
    const r = minimize(object, profileWith(path), ctx);
    expect("object" in r).toBe(true);
    expect(JSON.stringify(r)).not.toContain("agent.k");
    expect(r.report).toContainEqual(
      expect.objectContaining({ path: `extensions.${ext}.*`, action: "removed" }),
    );
  });
});
