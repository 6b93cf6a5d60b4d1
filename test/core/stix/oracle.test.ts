/**
 * The OASIS STIX 2.1 JSON schemas are the oracle for Accord's validator: on every object of every
 * example and corpus in ../shared/data, the two verdicts must be the same.
 *
 * Exceptions, each asserted exactly:
 * (a) the semantic checks the schemas cannot express (duplicate-version across a bundle,
 *     modified-before-created, time-order): ATLAS has 80 duplicate versions and 2 attack-patterns
 *     modified before they were created; no other file has any;
 * (b) bundle.json's `oneOf`, which rejects every custom SDO (one satisfies both core.json and
 *     cyber-observable-core.json): objects are judged by the schema of their type instead;
 * (c) the departures from the schemas that spec/stix-validation.md lists, where the schema
 *     contradicts the prose specification; each has a vector below with both verdicts.
 */
import { describe, expect, it } from "vitest";
import { validateBundle, validateObject, type StixIssue } from "../../../src/core/stix/validate.js";
import {
  corpora,
  examples,
  HAVE_DATA,
  loadOracle,
  objectsOf,
  SCHEMA_BASE,
  schemaAccepts,
  schemaFor,
  type DataFile,
} from "./oasis.js";

const SKIP_REASON = HAVE_DATA
  ? ""
  : " (skipped: ../shared/data is absent; the oracle needs the OASIS schemas and corpora)";

/** Issue codes for what the schemas cannot see. */
const SEMANTIC: ReadonlySet<string> = new Set([
  "duplicate-version",
  "modified-before-created",
  "time-order",
]);

interface Comparison {
  readonly objects: number;
  readonly schemaRejected: number;
  readonly disagreements: readonly {
    index: number;
    id: unknown;
    ours: readonly StixIssue[];
    schema: unknown;
  }[];
  readonly semantic: readonly StixIssue[];
}

function compare(file: DataFile): Comparison {
  const oracle = loadOracle();
  const objects = objectsOf(file.json);
  const isBundle = (file.json as { type?: unknown }).type === "bundle";
  const disagreements: {
    index: number;
    id: unknown;
    ours: readonly StixIssue[];
    schema: unknown;
  }[] = [];
  const semantic: StixIssue[] = [];
  let schemaRejected = 0;
  objects.forEach((o, index) => {
    const issues = validateObject(o, isBundle ? `$.objects[${String(index)}]` : "$");
    const structural = issues.filter((i) => !SEMANTIC.has(i.code));
    semantic.push(...issues.filter((i) => SEMANTIC.has(i.code)));
    const validate = schemaFor(oracle, o);
    const schemaOk = validate(o);
    if (!schemaOk) schemaRejected++;
    if (schemaOk !== (structural.length === 0)) {
      disagreements.push({
        index,
        id: (o as { id?: unknown }).id,
        ours: structural,
        schema: validate.errors,
      });
    }
  });
  if (isBundle)
    semantic.push(
      ...validateBundle(file.json).issues.filter((i) => i.code === "duplicate-version"),
    );
  return { objects: objects.length, schemaRejected, disagreements, semantic };
}

function countByCode(issues: readonly StixIssue[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of issues) out[i.code] = (out[i.code] ?? 0) + 1;
  return out;
}

/** Sorted-key JSON, an implementation independent of the validator's, to confirm duplicates. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const r = v as Record<string, unknown>;
    return `{${Object.keys(r)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(r[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

const FILES: readonly DataFile[] = HAVE_DATA ? [...examples(), ...corpora()] : [];

/** The semantic findings each file must produce, and nothing else. */
const EXPECTED_SEMANTIC: Readonly<Record<string, Record<string, number>>> = {
  "corpora/stix-atlas.json": { "duplicate-version": 80, "modified-before-created": 2 },
};

/** Objects the schemas reject, per file: CAPEC's two references whose URL begins with a space. */
const EXPECTED_SCHEMA_REJECTED: Readonly<Record<string, number>> = { "corpora/capec-2.1.json": 2 };

describe.skipIf(!HAVE_DATA)(`the OASIS STIX 2.1 schemas as oracle${SKIP_REASON}`, () => {
  it("loads every schema file under its own $id, resolves every $ref, and ignores no keyword or format", () => {
    const oracle = loadOracle();
    expect(oracle.files.length, "schema files").toBe(57);
    for (const f of oracle.files) {
      expect(f.schema.$id, `${f.file} $id`).toBe(SCHEMA_BASE + f.file);
      expect(f.schema.$schema, `${f.file} $schema`).toBe(
        "https://json-schema.org/draft/2020-12/schema",
      );
    }
    expect(oracle.byType.size, "one schema per built-in type").toBe(19 + 2 + 18 + 3);
    expect(oracle.warnings, "ajv warnings").toEqual([]);
  });

  describe.each(FILES.map((f) => [f.name, f] as const))("%s", (name, file) => {
    it("gets the schema's verdict on every object", () => {
      const c = compare(file);
      expect(c.disagreements, "objects where the verdicts differ").toEqual([]);
      expect(c.schemaRejected, "objects the schema rejects").toBe(
        EXPECTED_SCHEMA_REJECTED[name] ?? 0,
      );
    });

    it("finds exactly the known semantic defects", () => {
      expect(countByCode(compare(file).semantic)).toEqual(EXPECTED_SEMANTIC[name] ?? {});
    });
  });

  it("agrees on every one of the 5,846 objects", () => {
    let objects = 0;
    let disagreements = 0;
    for (const f of FILES) {
      const c = compare(f);
      objects += c.objects;
      disagreements += c.disagreements.length;
    }
    expect({ objects, disagreements }).toEqual({ objects: 5846, disagreements: 0 });
  });

  it("names CAPEC's two URLs with a leading space, as the schema's `uri` format does", () => {
    const capec = FILES.find((f) => f.name === "corpora/capec-2.1.json")!;
    const oracle = loadOracle();
    const ours = validateBundle(capec.json).issues;
    expect(ours.map((i) => [i.objectId, i.path, i.code])).toEqual([
      [
        "attack-pattern--c9b31907-c466-4325-af55-c418aea8b964",
        "$.objects[2551].external_references[3].url",
        "format.uri",
      ],
      [
        "attack-pattern--ea2e5cbd-8278-4f8a-b56b-3cfb955d2366",
        "$.objects[2617].external_references[4].url",
        "format.uri",
      ],
    ]);
    const objects = objectsOf(capec.json);
    for (const [index, ref] of [
      [2551, 3],
      [2617, 4],
    ] as const) {
      const o = objects[index] as { external_references: { url: string }[] };
      expect(o.external_references[ref]!.url.startsWith(" "), "the url begins with a space").toBe(
        true,
      );
      const validate = schemaFor(oracle, o);
      expect(validate(o)).toBe(false);
      expect(validate.errors?.map((e) => [e.instancePath, e.keyword, e.params])).toEqual([
        [`/external_references/${String(ref)}/url`, "format", { format: "uri" }],
      ]);
    }
  });

  it("names ATLAS's 80 duplicate versions and 2 attack-patterns modified before created", () => {
    const atlas = FILES.find((f) => f.name === "corpora/stix-atlas.json")!;
    const objects = objectsOf(atlas.json) as { id: string; type: string; modified?: string }[];
    const issues = validateBundle(atlas.json).issues;
    const mbc = issues.filter((i) => i.code === "modified-before-created");
    expect(mbc.map((i) => [i.objectId, i.path])).toEqual([
      ["attack-pattern--c9f8f4b0-e377-55b1-bad3-aa5f13389216", "$.objects[156].modified"],
      ["attack-pattern--92a68652-d864-5c9c-9c1d-64ec09587390", "$.objects[167].modified"],
    ]);
    const dups = issues.filter((i) => i.code === "duplicate-version");
    expect(dups).toHaveLength(80);
    for (const d of dups) {
      const index = Number(/^\$\.objects\[(\d+)\]$/.exec(d.path)?.[1]);
      const o = objects[index]!;
      expect(o.type, d.path).toBe("relationship");
      expect(d.objectId, d.path).toBe(o.id);
      const earlier = objects
        .slice(0, index)
        .find((p) => p.id === o.id && p.modified === o.modified);
      expect(earlier, `${d.path} repeats an earlier id and modified`).toBeDefined();
      expect(canonical(earlier) === canonical(o), `${d.path} differs in content`).toBe(false);
    }
    expect(issues.length, "nothing else").toBe(82);
  });

  it("agrees on every bundle envelope", () => {
    const oracle = loadOracle();
    for (const f of FILES) {
      if ((f.json as { type?: unknown }).type !== "bundle") continue;
      const envelopeIssues = validateBundle(f.json).issues.filter(
        (i) => !i.path.startsWith("$.objects["),
      );
      expect(oracle.bundleEnvelope(f.json), f.name).toBe(true);
      expect(envelopeIssues, f.name).toEqual([]);
    }
    const broken = { type: "bundle", id: "bundle--not-a-uuid", objects: [] };
    expect(oracle.bundleEnvelope(broken)).toBe(false);
    expect(validateBundle(broken).issues.map((i) => [i.path, i.code])).toEqual([
      ["$.id", "format.identifier"],
      ["$.objects", "empty"],
    ]);
  });

  it("judges objects by their type's schema, since bundle.json's oneOf rejects valid objects", () => {
    // bundle.json admits an object through `anyOf: [oneOf: [<36 type schemas>], <custom>]`, where
    // <custom> is `oneOf: [core.json, cyber-observable-core.json]` and a type outside its list of
    // 35 built-in names. An object with `created` and `modified` satisfies both cores (the SCO core
    // requires only `type` and `id`), so that `oneOf` fails. Hence bundle.json rejects every custom
    // SDO or SRO (which STIX §11.2 allows), and also every valid grouping, incident, location, note,
    // opinion and extension-definition: those six types are missing from both of its lists. A
    // custom object without `created`/`modified` passes, as a custom SCO.
    const oracle = loadOracle();
    const listed = new Set(oracle.bundleListedTypes);
    const rejected: Record<string, number> = {};
    for (const f of FILES) {
      for (const o of objectsOf(f.json)) {
        const rec = o as Record<string, unknown>;
        const type = rec.type as string;
        const perType = schemaAccepts(oracle, o);
        const viaBundle = oracle.bundleItem(o);
        if (
          perType &&
          !listed.has(type) &&
          (rec.created !== undefined || rec.modified !== undefined)
        ) {
          expect(viaBundle, `${f.name} ${String(rec.id)}`).toBe(false);
          const kind = oracle.byType.has(type) ? type : "custom";
          rejected[kind] = (rejected[kind] ?? 0) + 1;
        } else {
          expect(viaBundle, `${f.name} ${String(rec.id)}`).toBe(perType);
        }
      }
    }
    expect(
      oracle.bundleListedTypes.filter((t) => !oracle.byType.has(t)),
      "listed types without a schema",
    ).toEqual([]);
    expect(
      [...oracle.byType.keys()].filter((t) => !listed.has(t)).sort(),
      "built-in types bundle.json omits",
    ).toEqual(["extension-definition", "grouping", "incident", "location", "note", "opinion"]);
    expect(rejected, "valid objects bundle.json rejects, by type").toEqual({
      custom: 267,
      location: 272,
    });
  });
});

// ---------------------------------------------------------------- (c) documented departures

const U = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f";
const T = "2016-04-06T20:03:00.000Z";
const CAMPAIGN = {
  type: "campaign",
  spec_version: "2.1",
  id: `campaign--${U}`,
  created: T,
  modified: T,
  name: "Green Group",
};
const SCO = (type: string, props: Record<string, unknown>): Record<string, unknown> => ({
  type,
  id: `${type}--${U}`,
  ...props,
});
const MARKING = (props: Record<string, unknown>): Record<string, unknown> => ({
  type: "marking-definition",
  spec_version: "2.1",
  id: `marking-definition--${U}`,
  created: T,
  ...props,
});
const TLP_WHITE = {
  type: "marking-definition",
  spec_version: "2.1",
  id: "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  created: "2017-01-20T00:00:00.000Z",
  definition_type: "tlp",
  name: "TLP:WHITE",
  definition: { tlp: "white" },
};

interface Departure {
  /** The line of spec/stix-validation.md this vector illustrates. */
  readonly name: string;
  readonly object: Record<string, unknown>;
  readonly schema: boolean;
  /** Our issue, or null when we accept the object. */
  readonly ours: readonly [code: string, path: string] | null;
}

/** Each row of the "departures" table of spec/stix-validation.md, with one vector or two. */
const DEPARTURES: readonly Departure[] = [
  {
    name: "spec_version 2.0 on an object",
    object: { ...CAMPAIGN, spec_version: "2.0" },
    schema: true,
    ours: ["enum", "$.spec_version"],
  },
  {
    name: "property name with a valid prefix",
    object: { ...CAMPAIGN, "abc-DEF": 1 },
    schema: true,
    ours: ["format.property-name", "$['abc-DEF']"],
  },
  {
    name: "property name ending in id",
    object: { ...CAMPAIGN, Xid: 1 },
    schema: true,
    ours: ["format.property-name", "$.Xid"],
  },
  {
    name: "custom property name on a marking definition",
    object: MARKING({
      definition_type: "statement",
      definition: { statement: "x" },
      "Bad-Name": 1,
    }),
    schema: true,
    ours: ["format.property-name", "$['Bad-Name']"],
  },
  {
    name: "created_by_ref to a non-identity",
    object: { ...CAMPAIGN, created_by_ref: `malware--${U}` },
    schema: true,
    ours: ["ref-type", "$.created_by_ref"],
  },
  {
    name: "object_marking_refs to a non-marking",
    object: { ...CAMPAIGN, object_marking_refs: [`identity--${U}`] },
    schema: true,
    ours: ["ref-type", "$.object_marking_refs[0]"],
  },
  {
    name: "incident kill chain phases that are not a list",
    object: {
      ...CAMPAIGN,
      type: "incident",
      id: `incident--${U}`,
      kill_chain_phases: "initial-access",
    },
    schema: true,
    ours: ["type", "$.kill_chain_phases"],
  },
  {
    name: "timestamp on a day the month lacks",
    object: {
      ...CAMPAIGN,
      created: "2021-02-29T00:00:00.000Z",
      modified: "2021-02-29T00:00:00.000Z",
    },
    schema: true,
    ours: ["format.timestamp", "$.created"],
  },
  {
    name: "granular marking by language",
    object: { ...CAMPAIGN, granular_markings: [{ selectors: ["name"], lang: "fr" }] },
    schema: false,
    ours: null,
  },
  {
    name: "external reference hash name that only begins like an algorithm",
    object: {
      ...CAMPAIGN,
      external_references: [
        { source_name: "acme", url: "https://example.com/r", hashes: { "MD5-of-page": "abc" } },
      ],
    },
    schema: true,
    ours: ["format.dictionary-key", "$.external_references[0].hashes['MD5-of-page']"],
  },
  {
    name: "IPv6 with an IPv4 tail",
    object: SCO("ipv6-addr", { value: "::ffff:192.0.2.1" }),
    schema: false,
    ours: null,
  },
  {
    name: "IPv6 with stray `s`",
    object: SCO("ipv6-addr", { value: "s::1" }),
    schema: true,
    ours: ["format.ipv6", "$.value"],
  },
  {
    name: "IPv6 with an empty zone",
    object: SCO("ipv6-addr", { value: "fbbb::%/6" }),
    schema: true,
    ours: ["format.ipv6", "$.value"],
  },
  {
    name: "URI with an empty path",
    object: SCO("url", { value: "urn:" }),
    schema: false,
    ours: null,
  },
  {
    name: "URI whose port is not a number",
    object: SCO("url", { value: "http://host:port" }),
    schema: true,
    ours: ["format.uri", "$.value"],
  },
  {
    name: "custom object whose id names another type",
    object: { ...CAMPAIGN, type: "x-acme-widget", id: `x-acme-gadget--${U}` },
    schema: true,
    ours: ["id-type", "$.id"],
  },
  {
    name: "object of type bundle",
    object: { ...CAMPAIGN, type: "bundle", id: `bundle--${U}` },
    schema: true,
    ours: ["reserved", "$.type"],
  },
  {
    name: "TLP 1.0 id on another marking",
    object: {
      ...TLP_WHITE,
      definition_type: "statement",
      definition: { statement: "copy freely" },
    },
    schema: true,
    ours: ["tlp", "$.definition_type"],
  },
  {
    name: "TLP 1.0 marking without its level",
    object: { ...TLP_WHITE, definition: {} },
    schema: true,
    ours: ["tlp", "$.definition"],
  },
  {
    name: "custom definition type beginning with statement",
    object: MARKING({ definition_type: "statement-v2", definition: { text: "x" } }),
    schema: false,
    ours: null,
  },
  {
    name: "observed-data reference that is not an identifier",
    object: {
      ...CAMPAIGN,
      type: "observed-data",
      id: `observed-data--${U}`,
      name: undefined,
      first_observed: T,
      last_observed: T,
      number_observed: 1,
      object_refs: ["file--not-a-uuid"],
    },
    schema: true,
    ours: ["format.identifier", "$.object_refs[0]"],
  },
  {
    name: "SCO reference that is not an identifier",
    object: SCO("domain-name", { value: "example.com", resolves_to_refs: ["1"] }),
    schema: true,
    ours: ["format.identifier", "$.resolves_to_refs[0]"],
  },
  {
    name: "malware sample that is not a file or artifact",
    object: {
      ...CAMPAIGN,
      type: "malware",
      id: `malware--${U}`,
      is_family: false,
      sample_refs: [`ipv4-addr--${U}`],
    },
    schema: true,
    ours: ["ref-type", "$.sample_refs[0]"],
  },
  {
    name: "registry key mentioning a hive abbreviation later",
    object: SCO("windows-registry-key", { key: "HKEY_LOCAL_MACHINE\\SOFTWARE\\HKUTIL" }),
    schema: false,
    ours: null,
  },
  {
    name: "CPE inside other text",
    object: SCO("software", {
      name: "ie",
      cpe: "see cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*",
    }),
    schema: true,
    ours: ["format.pattern", "$.cpe"],
  },
  {
    name: "email header names the schema lists",
    object: SCO("email-message", {
      is_multipart: false,
      additional_header_fields: { subject: "x" },
    }),
    schema: false,
    ours: null,
  },
  {
    name: "STARTUPINFO member the schema's prefix match admits",
    object: SCO("process", {
      pid: 1,
      extensions: { "windows-process-ext": { startup_info: { cbReservedX: 1 } } },
    }),
    schema: true,
    ours: ["format.dictionary-key", "$.extensions['windows-process-ext'].startup_info.cbReservedX"],
  },
];

describe.skipIf(!HAVE_DATA)(
  `departures from the schemas, documented in spec/stix-validation.md${SKIP_REASON}`,
  () => {
    it.each(DEPARTURES.map((d) => [d.name, d] as const))("%s", (_, d) => {
      const object = JSON.parse(JSON.stringify(d.object)) as Record<string, unknown>;
      expect(schemaAccepts(loadOracle(), object), "the schema's verdict").toBe(d.schema);
      const issues = validateObject(object);
      if (d.ours === null) expect(issues, "our issues").toEqual([]);
      else
        expect(
          issues.map((i) => [i.code, i.path]),
          "our issues",
        ).toContainEqual(d.ours);
    });
  },
);
