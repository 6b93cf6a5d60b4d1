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
