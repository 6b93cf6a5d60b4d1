/**
 * fast-check arbitraries for STIX 2.1: valid objects of sixteen types (the SDO/SRO common
 * properties, TLP 2.0 markings, external references, kill chain phases, custom properties), and
 * single corruptions, each with the issue code and JSONPath a validator must report.
 */
import fc from "fast-check";
import { TLP2_IDS, TLP_NAMES } from "../../../src/core/stix/tlp.js";

export type Obj = Record<string, unknown>;

const UUID = "0b3a5b8a-6d4c-4d5e-9f10-2a3b4c5d6e7f";

export function without(o: Obj, key: string): Obj {
  return Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
}

export const isSco = (o: Obj): boolean => o.created === undefined;

const ts = fc
  .date({
    min: new Date("2000-01-01T00:00:00Z"),
    max: new Date("2035-01-01T00:00:00Z"),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());
const uuid = fc.uuid({ version: [4, 5] });
const idOf = (type: string): fc.Arbitrary<string> => uuid.map((u) => `${type}--${u}`);
const text = fc.string({ minLength: 1, maxLength: 24 });
const words = fc.array(text, { minLength: 1, maxLength: 3 });
const slug = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}[a-z0-9]$/).filter((s) => !s.includes("--"));
const hex = (n: number): fc.Arbitrary<string> =>
  fc.stringMatching(new RegExp(`^[0-9a-f]{${String(n)}}$`));
const tlpRef = fc.constantFrom(...TLP_NAMES.map((l) => TLP2_IDS[l]));
const killChain = fc.record({ kill_chain_name: slug, phase_name: slug });
const extRef = fc.oneof(
  fc.record({
    source_name: fc.constant("capec"),
    external_id: fc.nat().map((n) => `CAPEC-${String(n)}`),
  }),
  fc.record(
    {
      source_name: slug.filter((n) => n !== "cve" && n !== "capec"),
      url: fc.webUrl({ withQueryParameters: true, withFragments: true }),
      description: text,
    },
    { requiredKeys: ["source_name", "url"] },
  ),
);
/** A custom property name; `_hex` and `_bin` suffixes would type the value (§11.1), so not those. */
const customName = fc
  .stringMatching(/^x_[a-z0-9_]{1,20}$/)
  .filter((n) => !n.endsWith("_hex") && !n.endsWith("_bin"));
const sdoTypes = [
  "attack-pattern",
  "campaign",
  "identity",
  "indicator",
  "malware",
  "tool",
  "threat-actor",
  "intrusion-set",
];

/** Common SDO/SRO properties; `modified` is never before `created`. */
function sdo(type: string, own: fc.Arbitrary<Obj>): fc.Arbitrary<Obj> {
  const common = fc.record(
    {
      id: idOf(type),
      created: ts,
      later: fc.nat(10 ** 10),
      created_by_ref: idOf("identity"),
      labels: words,
      confidence: fc.integer({ min: 0, max: 100 }),
      external_references: fc.array(extRef, { minLength: 1, maxLength: 2 }),
      object_marking_refs: fc.array(tlpRef, { minLength: 1, maxLength: 2 }),
      kill_chain_phases: fc.array(killChain, { minLength: 1, maxLength: 2 }),
      custom: fc.tuple(customName, fc.oneof(text, fc.integer(), fc.boolean())),
    },
    { requiredKeys: ["id", "created", "later"] },
  );
  return fc.tuple(common, own).map(([c, o]) => {
    const created = c.created;
    const modified = new Date(Date.parse(created) + c.later).toISOString();
    const out: Obj = { type, spec_version: "2.1", id: c.id, created, modified, ...o };
    for (const k of [
      "created_by_ref",
      "labels",
      "confidence",
      "external_references",
      "object_marking_refs",
    ] as const) {
      if (c[k] !== undefined) out[k] = c[k];
    }
    if (
      c.kill_chain_phases !== undefined &&
      ["attack-pattern", "indicator", "malware", "tool"].includes(type)
    ) {
      out.kill_chain_phases = c.kill_chain_phases;
    }
    if (c.custom !== undefined) out[c.custom[0]] = c.custom[1];
    return out;
  });
}

export const validObject: fc.Arbitrary<Obj> = fc.oneof(
  sdo("attack-pattern", fc.record({ name: text, description: text }, { requiredKeys: ["name"] })),
  sdo(
    "campaign",
    fc.record({ name: text, aliases: words, objective: text }, { requiredKeys: ["name"] }),
  ),
  sdo(
    "identity",
    fc.record(
      {
        name: text,
        identity_class: fc.constantFrom("individual", "organization", "x-other"),
        sectors: words,
      },
      { requiredKeys: ["name"] },
    ),
  ),
  sdo(
    "indicator",
    fc
      .record({
        name: text,
        pattern: fc.ipV4().map((ip) => `[ipv4-addr:value = '${ip}']`),
        pattern_type: fc.constantFrom("stix", "snort", "yara", "custom-engine"),
        valid_from: ts,
        days: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
        indicator_types: fc.array(
          fc.constantFrom("malicious-activity", "benign", "anonymization"),
          { minLength: 1 },
        ),
      })
      .map(({ days, ...o }) =>
        days === undefined
          ? o
          : {
              ...o,
              valid_until: new Date(Date.parse(o.valid_from) + days * 86_400_000).toISOString(),
            },
      ),
  ),
  sdo(
    "malware",
    fc.oneof(
      fc.record({ is_family: fc.constant(true), name: text, malware_types: words }),
      fc.record({
        is_family: fc.constant(false),
        sample_refs: fc.array(idOf("file"), { minLength: 1 }),
      }),
    ),
  ),
  sdo(
    "relationship",
    fc.record({
      relationship_type: slug,
      source_ref: fc.constantFrom(...sdoTypes).chain(idOf),
      target_ref: fc.constantFrom(...sdoTypes).chain(idOf),
    }),
  ),
  sdo(
    "sighting",
    fc.record(
      {
        sighting_of_ref: idOf("indicator"),
        count: fc.integer({ min: 0, max: 999_999_999 }),
        where_sighted_refs: fc.array(fc.oneof(idOf("identity"), idOf("location")), {
          minLength: 1,
        }),
        observed_data_refs: fc.array(idOf("observed-data"), { minLength: 1 }),
      },
      { requiredKeys: ["sighting_of_ref"] },
    ),
  ),
  sdo(
    "report",
    fc.record({
      name: text,
      published: ts,
      object_refs: fc.array(fc.constantFrom(...sdoTypes).chain(idOf), { minLength: 1 }),
    }),
  ),
  sdo(
    "note",
    fc.record({ content: text, object_refs: fc.array(idOf("malware"), { minLength: 1 }) }),
  ),
  sdo(
    "opinion",
    fc.record({
      opinion: fc.constantFrom(
        "strongly-disagree",
        "disagree",
        "neutral",
        "agree",
        "strongly-agree",
      ),
      object_refs: fc.array(idOf("report"), { minLength: 1 }),
    }),
  ),
  sdo(
    "location",
    fc.oneof(
      fc.record({ country: fc.constantFrom("FR", "DE", "NZ") }),
      fc.record({
        latitude: fc.double({ min: -90, max: 90, noNaN: true }),
        longitude: fc.double({ min: -180, max: 180, noNaN: true }),
      }),
    ),
  ),
  fc.record({ type: fc.constant("ipv4-addr"), id: idOf("ipv4-addr"), value: fc.ipV4() }),
  fc.record({ type: fc.constant("domain-name"), id: idOf("domain-name"), value: fc.domain() }),
  fc.record({ type: fc.constant("url"), id: idOf("url"), value: fc.webUrl() }),
  fc.record({
    type: fc.constant("file"),
    id: idOf("file"),
    name: text,
    size: fc.nat(),
    hashes: fc.record({ MD5: hex(32), "SHA-256": hex(64) }, { requiredKeys: ["SHA-256"] }),
  }),
  fc.record(
    {
      type: fc.constant("user-account"),
      id: idOf("user-account"),
      user_id: text,
      account_login: text,
      is_privileged: fc.boolean(),
      account_created: ts,
    },
    { requiredKeys: ["type", "id", "user_id"] },
  ),
);

export interface Corruption {
  readonly name: string;
  readonly applies: (o: Obj) => boolean;
  readonly apply: (o: Obj) => Obj;
  readonly code: string;
  readonly path: string;
}

export const CORRUPTIONS: readonly Corruption[] = [
  {
    name: "drop id",
    applies: () => true,
    apply: (o) => without(o, "id"),
    code: "required",
    path: "$.id",
  },
  {
    name: "drop created",
    applies: (o) => !isSco(o),
    apply: (o) => without(o, "created"),
    code: "required",
    path: "$.created",
  },
  {
    name: "timestamp without time",
    applies: (o) => !isSco(o),
    apply: (o) => ({ ...o, modified: (o.modified as string).slice(0, 10) }),
    code: "format.timestamp",
    path: "$.modified",
  },
  {
    name: "identifier in upper case",
    applies: () => true,
    apply: (o) => ({ ...o, id: (o.id as string).toUpperCase() }),
    code: "format.identifier",
    path: "$.id",
  },
  {
    name: "spec_version 2.2",
    applies: () => true,
    apply: (o) => ({ ...o, spec_version: "2.2" }),
    code: "enum",
    path: "$.spec_version",
  },
  {
    name: "custom property with a hyphen",
    applies: () => true,
    apply: (o) => ({ ...o, "x-acme": 1 }),
    code: "format.property-name",
    path: "$['x-acme']",
  },
  {
    name: "relationship from a sighting",
    applies: (o) => o.type === "relationship",
    apply: (o) => ({ ...o, source_ref: `sighting--${UUID}` }),
    code: "ref-type",
    path: "$.source_ref",
  },
  {
    name: "sighted where a malware is",
    applies: (o) => o.type === "sighting",
    apply: (o) => ({ ...o, where_sighted_refs: [`malware--${UUID}`] }),
    code: "ref-type",
    path: "$.where_sighted_refs[0]",
  },
  {
    name: "opinion outside its enumeration",
    applies: (o) => o.type === "opinion",
    apply: (o) => ({ ...o, opinion: "indifferent" }),
    code: "enum",
    path: "$.opinion",
  },
  {
    name: "family without a name",
    applies: (o) => o.type === "malware" && o.is_family === true,
    apply: (o) => without(o, "name"),
    code: "required",
    path: "$.name",
  },
  {
    name: "latitude without longitude",
    applies: (o) => o.type === "location" && o.latitude !== undefined,
    apply: (o) => without(o, "longitude"),
    code: "required",
    path: "$.longitude",
  },
  {
    name: "wrong type for confidence",
    applies: (o) => !isSco(o),
    apply: (o) => ({ ...o, confidence: "high" }),
    code: "type",
    path: "$.confidence",
  },
  {
    name: "confidence out of range",
    applies: (o) => !isSco(o),
    apply: (o) => ({ ...o, confidence: 101 }),
    code: "range",
    path: "$.confidence",
  },
  {
    name: "empty external references",
    applies: (o) => !isSco(o),
    apply: (o) => ({ ...o, external_references: [] }),
    code: "empty",
    path: "$.external_references",
  },
  {
    name: "external reference without source",
    applies: (o) => !isSco(o),
    apply: (o) => ({ ...o, external_references: [{ url: "https://example.com/" }] }),
    code: "required",
    path: "$.external_references[0].source_name",
  },
  {
    name: "kill chain phase without phase",
    applies: (o) => ["attack-pattern", "indicator", "malware", "tool"].includes(o.type as string),
    apply: (o) => ({ ...o, kill_chain_phases: [{ kill_chain_name: "lockheed" }] }),
    code: "required",
    path: "$.kill_chain_phases[0].phase_name",
  },
  {
    name: "granular marking with a bad selector",
    applies: () => true,
    apply: (o) => ({
      ...o,
      granular_markings: [{ selectors: ["Name!"], marking_ref: TLP2_IDS.red }],
    }),
    code: "format.selector",
    path: "$.granular_markings[0].selectors[0]",
  },
  {
    name: "reserved property",
    applies: () => true,
    apply: (o) => ({ ...o, phone_numbers: ["+1"] }),
    code: "reserved",
    path: "$.phone_numbers",
  },
  {
    name: "null custom property",
    applies: () => true,
    apply: (o) => ({ ...o, x_acme_score: null }),
    code: "type",
    path: "$.x_acme_score",
  },
  {
    name: "hash of the wrong length",
    applies: (o) => o.type === "file",
    apply: (o) => ({ ...o, hashes: { "SHA-256": "abc" } }),
    code: "format.hash",
    path: "$.hashes['SHA-256']",
  },
];
