/**
 * The OASIS STIX 2.1 JSON schemas as a test oracle (cti-stix2-json-schemas, `schemas/`, kept in
 * `../shared/data/stix2.1` beside the repository; see data/README.md there).
 *
 * How the schemas load: each file declares `$schema` draft 2020-12 and an absolute `$id`
 * (`http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/<dir>/<file>`);
 * every `$ref` is relative (`../common/core.json`, `granular-marking.json`) and resolves against
 * that `$id` to another file's `$id`, so adding every file under its own `$id` is enough: no
 * network, no URI rewriting. Three settings are needed and deliberate:
 * - `unicodeRegExp: false`: the schemas' patterns are ECMA-262 without the `u` flag
 *   (`^([a-z][a-z0-9]*)+(-[a-z0-9]+)*\-?$` has an identity escape `\-` that `u` mode refuses).
 * - `strict: false`: ajv's strict mode refuses the schemas' style (`required` names a property that
 *   `properties` does not list, `pattern` without `type`), not their meaning.
 * - `idn-hostname` declared unchecked: ajv-formats implements `uri` and `email` but has no
 *   `idn-hostname`, so the oracle cannot judge `domain-name.value`; ajv's logger is captured and the
 *   test asserts no other format or keyword is ignored.
 *
 * This module reads files; it is test code and lives outside `src/core`, which is pure.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { AnySchemaObject, ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule.default;

/** `../shared/data` from the repository root. */
export const DATA_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../shared/data");
export const SCHEMA_DIR = join(DATA_DIR, "stix2.1", "schemas");
export const EXAMPLES_DIR = join(DATA_DIR, "stix2.1", "examples");
export const CORPORA_DIR = join(DATA_DIR, "corpora");
export const HAVE_DATA =
  existsSync(SCHEMA_DIR) && existsSync(EXAMPLES_DIR) && existsSync(CORPORA_DIR);

export const SCHEMA_BASE =
  "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

export interface SchemaFile {
  /** `sdos/indicator.json` */
  readonly file: string;
  readonly schema: AnySchemaObject;
}

export interface Oracle {
  readonly files: readonly SchemaFile[];
  /** Messages ajv logged while compiling (ignored formats or keywords would show here). */
  readonly warnings: readonly string[];
  /** The schema for a built-in type (`indicator` → sdos/indicator.json), by type name. */
  readonly byType: ReadonlyMap<string, ValidateFunction>;
  readonly core: ValidateFunction;
  readonly observableCore: ValidateFunction;
  /** bundle.json as published, objects and all. */
  readonly bundle: ValidateFunction;
  /** bundle.json's `objects.items` alone: how the bundle schema judges one object. */
  readonly bundleItem: ValidateFunction;
  /** bundle.json without `objects.items`: the envelope only. */
  readonly bundleEnvelope: ValidateFunction;
  /** The type names bundle.json's `oneOf` lists (one `$ref` per type schema). */
  readonly bundleListedTypes: readonly string[];
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".json")) out.push(p);
  }
  return out;
}

let cached: Oracle | undefined;

export function loadOracle(): Oracle {
  if (cached !== undefined) return cached;
  const warnings: string[] = [];
  const log = (...args: unknown[]): void => {
    warnings.push(args.map(String).join(" "));
  };
  const ajv = new Ajv2020({
    strict: false,
    allErrors: false,
    unicodeRegExp: false,
    formats: { "idn-hostname": true },
    logger: { log, warn: log, error: log },
  });
  addFormats(ajv);
  const files: SchemaFile[] = walk(SCHEMA_DIR).map((p) => ({
    file: relative(SCHEMA_DIR, p),
    schema: JSON.parse(readFileSync(p, "utf8")) as AnySchemaObject,
  }));
  for (const f of files) ajv.addSchema(f.schema);
  const get = (file: string): ValidateFunction => {
    const v = ajv.getSchema(SCHEMA_BASE + file);
    if (v === undefined) throw new Error(`schema ${file} did not load`);
    return v;
  };
  const byType = new Map<string, ValidateFunction>();
  for (const f of files) {
    const type = f.file.slice(f.file.indexOf("/") + 1, -".json".length);
    if (
      f.file.startsWith("common/") &&
      !["marking-definition", "language-content", "extension-definition"].includes(type)
    )
      continue;
    byType.set(type, get(f.file));
  }
  const bundleSchema = files.find((f) => f.file === "common/bundle.json")?.schema;
  if (bundleSchema === undefined) throw new Error("bundle.json is missing");
  const objectsSchema = (bundleSchema.properties as Record<string, AnySchemaObject>).objects!;
  const bundleItem = ajv.compile({
    $id: `${SCHEMA_BASE}common/accord-bundle-item.json`,
    ...(objectsSchema.items as AnySchemaObject),
  });
  const bundleEnvelope = ajv.compile({
    ...bundleSchema,
    $id: `${SCHEMA_BASE}common/accord-bundle-envelope.json`,
    properties: { ...(bundleSchema.properties as object), objects: { type: "array", minItems: 1 } },
  });
  const items = objectsSchema.items as { anyOf: [{ oneOf: { $ref: string }[] }] };
  const bundleListedTypes = items.anyOf[0].oneOf.map((r) =>
    r.$ref.slice(r.$ref.lastIndexOf("/") + 1, -".json".length),
  );
  cached = {
    files,
    bundleListedTypes,
    warnings,
    byType,
    core: get("common/core.json"),
    observableCore: get("common/cyber-observable-core.json"),
    bundle: get("common/bundle.json"),
    bundleItem,
    bundleEnvelope,
  };
  return cached;
}

/**
 * The schemas' verdict on one object: the schema of its type; for a custom type (§11.2), core.json
 * when it has `created` or `modified` (a custom SDO or SRO) and cyber-observable-core.json otherwise
 * (a custom SCO). bundle.json cannot be used per object: see the oracle test.
 */
export function schemaFor(oracle: Oracle, o: unknown): ValidateFunction {
  const rec = typeof o === "object" && o !== null ? (o as Record<string, unknown>) : {};
  const type = typeof rec.type === "string" ? rec.type : "";
  const own = oracle.byType.get(type);
  if (own !== undefined) return own;
  return rec.created !== undefined || rec.modified !== undefined
    ? oracle.core
    : oracle.observableCore;
}

export function schemaAccepts(oracle: Oracle, o: unknown): boolean {
  return schemaFor(oracle, o)(o);
}

export interface DataFile {
  /** Relative to the data directory: `corpora/stix-atlas.json`. */
  readonly name: string;
  readonly json: unknown;
}

export function examples(): DataFile[] {
  return walk(EXAMPLES_DIR).map((p) => ({
    name: relative(DATA_DIR, p),
    json: JSON.parse(readFileSync(p, "utf8")) as unknown,
  }));
}

export function corpora(): DataFile[] {
  return walk(CORPORA_DIR).map((p) => ({
    name: relative(DATA_DIR, p),
    json: JSON.parse(readFileSync(p, "utf8")) as unknown,
  }));
}

/** The objects of a data file: a bundle's `objects`, or the file's single object. */
export function objectsOf(json: unknown): unknown[] {
  const rec = json as { type?: unknown; objects?: unknown };
  if (rec.type === "bundle" && Array.isArray(rec.objects)) return rec.objects as unknown[];
  return [json];
}
