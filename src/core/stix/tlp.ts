/**
 * Traffic Light Protocol markings for STIX 2.1.
 *
 * - TLP 2.0 (FIRST, August 2022) is carried by the OASIS extension
 *   `extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d` (cti-stix-common-objects,
 *   `extension-definition-specifications/tlp-2.0`): five marking-definition objects with fixed ids,
 *   `created` 2022-10-01T00:00:00.000Z, and a property extension `{ tlp_2_0: "clear" | … }`.
 * - TLP 1.0 is predefined by STIX 2.1 §7.2.1.4: four marking definitions with fixed ids, `created`
 *   2017-01-20T00:00:00.000Z, `definition_type: "tlp"` and `definition: { tlp: "white" | … }`.
 *   They map onto TLP 2.0 levels: WHITE → CLEAR, GREEN, AMBER and RED unchanged.
 *
 * Levels are ordered CLEAR < GREEN < AMBER < AMBER+STRICT < RED. An object's level is read from its
 * marking references (by id only: a marking is recognised by its published id, never by a name a
 * peer put in a marking-definition object), and the most restrictive one wins.
 */
import type { StixObject } from "./object.js";
import type { MarkingDefinition } from "./types.js";

export type TlpName = "clear" | "green" | "amber" | "amber+strict" | "red";

/** Least to most restrictive. */
export const TLP_NAMES: readonly TlpName[] = ["clear", "green", "amber", "amber+strict", "red"];

/** A level's rank: a higher number is more restrictive. */
export const TLP_ORDER: Readonly<Record<TlpName, number>> = {
  clear: 0,
  green: 1,
  amber: 2,
  "amber+strict": 3,
  red: 4,
};

export const TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";
export const TLP2_CREATED = "2022-10-01T00:00:00.000Z";
export const TLP1_CREATED = "2017-01-20T00:00:00.000Z";

/** The TLP 2.0 marking-definition ids, as published with the extension. */
export const TLP2_IDS: Readonly<Record<TlpName, `marking-definition--${string}`>> = {
  clear: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
  green: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
  amber: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
  "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
  red: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
};

export type Tlp1Name = "white" | "green" | "amber" | "red";

/** The TLP 1.0 marking-definition ids of STIX 2.1 §7.2.1.4. */
export const TLP1_IDS: Readonly<Record<Tlp1Name, `marking-definition--${string}`>> = {
  white: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  green: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  amber: "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  red: "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
};

const TLP1_TO_TLP2: Readonly<Record<Tlp1Name, TlpName>> = {
  white: "clear",
  green: "green",
  amber: "amber",
  red: "red",
};

/** The display name of a level, as the marking definitions carry it: `TLP:AMBER+STRICT`. */
export function tlpLabel(level: TlpName): string {
  return `TLP:${level.toUpperCase()}`;
}

/** The canonical TLP 2.0 marking-definition object for a level. */
export function tlp2MarkingDefinition(level: TlpName): MarkingDefinition {
  return {
    type: "marking-definition",
    spec_version: "2.1",
    id: TLP2_IDS[level],
    created: TLP2_CREATED,
    name: tlpLabel(level),
    extensions: {
      [TLP2_EXTENSION_ID]: { extension_type: "property-extension", tlp_2_0: level },
    },
  };
}

/** The TLP 1.0 marking-definition object of STIX 2.1 §7.2.1.4 for a level. */
export function tlp1MarkingDefinition(level: Tlp1Name): MarkingDefinition {
  return {
    type: "marking-definition",
    spec_version: "2.1",
    id: TLP1_IDS[level],
    created: TLP1_CREATED,
    definition_type: "tlp",
    name: `TLP:${level.toUpperCase()}`,
    definition: { tlp: level },
  };
}

/** Every predefined TLP marking-definition object: the five of TLP 2.0, then the four of TLP 1.0. */
export const TLP_MARKING_DEFINITIONS: readonly MarkingDefinition[] = [
  ...TLP_NAMES.map(tlp2MarkingDefinition),
  ...(Object.keys(TLP1_IDS) as Tlp1Name[]).map(tlp1MarkingDefinition),
];

const LEVEL_BY_ID: ReadonlyMap<string, TlpName> = new Map<string, TlpName>([
  ...TLP_NAMES.map((level) => [TLP2_IDS[level], level] as const),
  ...(Object.entries(TLP1_IDS) as [Tlp1Name, string][]).map(
    ([v1, id]) => [id, TLP1_TO_TLP2[v1]] as const,
  ),
]);

/** The TLP level a marking-definition id stands for (TLP 1.0 ids mapped to 2.0), else undefined. */
export function tlpOfMarkingRef(id: string): TlpName | undefined {
  return LEVEL_BY_ID.get(id);
}

/** The more restrictive of two levels. */
export function maxTlp(a: TlpName, b: TlpName): TlpName {
  return TLP_ORDER[a] >= TLP_ORDER[b] ? a : b;
}

/** Negative when `a` is less restrictive than `b`, zero when equal, positive otherwise. */
export function compareTlp(a: TlpName, b: TlpName): number {
  return TLP_ORDER[a] - TLP_ORDER[b];
}

/**
 * The TLP level of an object: the most restrictive TLP marking among its `object_marking_refs` and
 * the `marking_ref`s of its `granular_markings` (a part marked RED makes the object RED for
 * whoever must decide whether it may travel whole). Undefined when it carries no TLP marking;
 * other marking definitions (statements, custom ones) are ignored. Tolerates malformed input.
 */
export function tlpLevelOf(o: StixObject): TlpName | undefined {
  let level: TlpName | undefined;
  const refs = o.object_marking_refs;
  if (Array.isArray(refs)) {
    for (const r of refs) {
      const l = typeof r === "string" ? LEVEL_BY_ID.get(r) : undefined;
      if (l !== undefined) level = level === undefined ? l : maxTlp(level, l);
    }
  }
  const granular = o.granular_markings;
  if (Array.isArray(granular)) {
    for (const g of granular) {
      if (typeof g !== "object" || g === null || Array.isArray(g)) continue;
      const r = g.marking_ref;
      const l = typeof r === "string" ? LEVEL_BY_ID.get(r) : undefined;
      if (l !== undefined) level = level === undefined ? l : maxTlp(level, l);
    }
  }
  return level;
}
