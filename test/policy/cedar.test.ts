/**
 * Agreements compiled to Cedar parse in Cedar and answer as `decide()` does on the effects Cedar
 * can express (spec/policy.md "Cedar"); bench/policy.ts checks 4,096 mixed requests the same way.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { parseAgreement } from "../../src/core/agreement/parse.js";
import { toCedar } from "../../src/core/policy/cedar.js";
import { decide } from "../../src/core/policy/decide.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { TLP2_IDS, TLP_ORDER, type TlpName } from "../../src/core/stix/tlp.js";

const example = (name: string) =>
  parseAgreement(
    readFileSync(new URL(`../../examples/agreements/${name}`, import.meta.url), "utf8"),
  );
const agreements = [example("regional-cyber-accord.yaml"), example("fiu-mou.yaml")];
const AT = new Date("2026-06-01T00:00:00Z");

function ask(type: string, tlp: TlpName, partner: string, purpose: string): [string, string] {
  const object: StixObject = {
    type,
    spec_version: "2.1",
    id: `${type}--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4`,
    created: "2026-05-01T00:00:00.000Z",
    modified: "2026-05-01T00:00:00.000Z",
    name: "x",
    object_marking_refs: [TLP2_IDS[tlp]],
  };
  const ours = decide(
    object,
    { action: "share", self: "XA", partner, purpose, at: AT },
    agreements,
  );
  const answer = cedar.isAuthorized({
    principal: { type: "Node", id: "XA" },
    action: { type: "Action", id: "share" },
    resource: { type: "Object", id: object.id },
    context: {
      self: "XA",
      partner,
      purpose,
      type,
      tlp: TLP_ORDER[tlp],
      day: Math.floor(AT.getTime() / 86_400_000),
      props: Object.keys(object),
      agreement: "",
      originator_is_self: true,
      hops: 1,
      consent_agreements: [],
      queries_today: 0,
      received_agreement: "",
      received_purpose: "",
      approved_by: [],
    },
    policies: { staticPolicies: toCedar(agreements) },
    entities: [],
  });
  if (answer.type !== "success") throw new Error(JSON.stringify(answer));
  return [ours.effect, answer.response.decision === "allow" ? "permit" : "deny"];
}

describe("agreements compiled to Cedar", () => {
  it("parse as a Cedar policy set", () => {
    expect(cedar.checkParsePolicySet({ staticPolicies: toCedar(agreements) }).type).toBe("success");
  });

  it("answer share requests as decide() does", () => {
    const cases: [string, TlpName, string, string][] = [
      ["indicator", "amber", "XB", "cyber-defence"],
      ["indicator", "red", "XB", "cyber-defence"],
      ["malware", "green", "XC", "cyber-defence"],
      ["indicator", "amber", "XD", "cyber-defence"],
      ["indicator", "amber", "XB", "immigration-enforcement"],
      ["email-addr", "green", "XB", "cyber-defence"],
      ["identity", "amber", "XB", "aml-cft"],
    ];
    for (const c of cases) {
      const [ours, theirs] = ask(...c);
      expect(theirs, c.join(" ")).toBe(ours);
    }
    expect(ask("indicator", "amber", "XB", "cyber-defence")[0], "a permit among the cases").toBe(
      "permit",
    );
  });
});
