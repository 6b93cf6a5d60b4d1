/**
 * TLP markings: the published ids (TLP 2.0 extension definition, OASIS cti-stix-common-objects
 * `extension-definition-specifications/tlp-2.0`; TLP 1.0 from STIX 2.1 §7.2.1.4), their order, and
 * the level of an object.
 */
import { describe, expect, it } from "vitest";
import type { StixObject } from "../../../src/core/stix/object.js";
import {
  compareTlp,
  maxTlp,
  tlp2MarkingDefinition,
  TLP1_IDS,
  TLP2_EXTENSION_ID,
  TLP2_IDS,
  TLP_MARKING_DEFINITIONS,
  TLP_NAMES,
  TLP_ORDER,
  tlpLabel,
  tlpLevelOf,
  tlpOfMarkingRef,
} from "../../../src/core/stix/tlp.js";
import { validateObject } from "../../../src/core/stix/validate.js";

const object = (props: Record<string, unknown>): StixObject => ({
  type: "indicator",
  id: "indicator--6b8d4bd4-4d3b-4a8e-9b5f-0c6a6b2f4a11",
  ...props,
});

describe("TLP identifiers", () => {
  it.each([
    ["clear", "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
    ["green", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"],
    ["amber", "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"],
    ["amber+strict", "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"],
    ["red", "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"],
  ] as const)("TLP 2.0 %s is %s", (level, id) => {
    expect(TLP2_IDS[level]).toBe(id);
    expect(tlpOfMarkingRef(id)).toBe(level);
  });

  it.each([
    ["white", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear"],
    ["green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"],
    ["amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"],
    ["red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"],
  ] as const)("TLP 1.0 %s is %s, read as TLP 2.0 %s", (v1, id, v2) => {
    expect(TLP1_IDS[v1]).toBe(id);
    expect(tlpOfMarkingRef(id)).toBe(v2);
  });

  it("publishes nine canonical marking definitions, all valid", () => {
    expect(TLP_MARKING_DEFINITIONS).toHaveLength(9);
    for (const m of TLP_MARKING_DEFINITIONS) expect(validateObject(m), m.id).toEqual([]);
  });

  it("builds the TLP 2.0 object as the extension's example does", () => {
    expect(tlp2MarkingDefinition("amber+strict")).toEqual({
      type: "marking-definition",
      spec_version: "2.1",
      id: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
      created: "2022-10-01T00:00:00.000Z",
      name: "TLP:AMBER+STRICT",
      extensions: {
        [TLP2_EXTENSION_ID]: { extension_type: "property-extension", tlp_2_0: "amber+strict" },
      },
    });
  });
});

describe("TLP order", () => {
  it("is CLEAR < GREEN < AMBER < AMBER+STRICT < RED", () => {
    const sorted = [...TLP_NAMES].sort((a, b) => TLP_ORDER[a] - TLP_ORDER[b]);
    expect(sorted).toEqual(["clear", "green", "amber", "amber+strict", "red"]);
    expect(compareTlp("amber", "amber+strict")).toBeLessThan(0);
    expect(maxTlp("red", "green")).toBe("red");
    expect(tlpLabel("amber+strict")).toBe("TLP:AMBER+STRICT");
  });
});

describe("tlpLevelOf", () => {
  it("is undefined without a TLP marking", () => {
    expect(tlpLevelOf(object({}))).toBeUndefined();
    expect(
      tlpLevelOf(
        object({
          object_marking_refs: ["marking-definition--17d82bb2-eeeb-4898-bda5-3ddbcd2b799d"],
        }),
      ),
    ).toBeUndefined();
  });

  it("reads TLP 2.0 and TLP 1.0 references, and the most restrictive wins", () => {
    expect(tlpLevelOf(object({ object_marking_refs: [TLP1_IDS.white] }))).toBe("clear");
    expect(tlpLevelOf(object({ object_marking_refs: [TLP2_IDS.green, TLP1_IDS.amber] }))).toBe(
      "amber",
    );
    expect(
      tlpLevelOf(
        object({ object_marking_refs: [TLP2_IDS["amber+strict"], TLP1_IDS.amber, TLP2_IDS.clear] }),
      ),
    ).toBe("amber+strict");
  });

  it("counts granular markings: a part marked RED makes the object RED", () => {
    const o = object({
      object_marking_refs: [TLP2_IDS.green],
      granular_markings: [{ selectors: ["description"], marking_ref: TLP2_IDS.red }],
    });
    expect(tlpLevelOf(o)).toBe("red");
  });

  it("tolerates malformed markings", () => {
    const o = object({
      object_marking_refs: [7, null, TLP2_IDS.green],
      granular_markings: [null, "x", [], { marking_ref: 3 }],
    });
    expect(tlpLevelOf(o)).toBe("green");
    expect(tlpLevelOf(object({ object_marking_refs: "nope" }))).toBeUndefined();
  });

  it("is never less restrictive than any single TLP reference (every pair)", () => {
    for (const a of TLP_NAMES)
      for (const b of TLP_NAMES) {
        const level = tlpLevelOf(object({ object_marking_refs: [TLP2_IDS[a], TLP2_IDS[b]] }))!;
        expect(TLP_ORDER[level], `${a} ${b}`).toBe(Math.max(TLP_ORDER[a], TLP_ORDER[b]));
      }
  });
});
