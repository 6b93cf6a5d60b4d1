/**
 * The validator's own behaviour, without the OASIS data: parsing, paths and ids in issues, the
 * semantic checks (§3: modified vs created, versions; time order), custom objects (§11.2),
 * extensions (§7.3), embedded observables (§4.14), TLP markings, messages, and hostile input.
 */
import { describe, expect, it } from "vitest";
import { AccordError, isAccordError } from "../../../src/errors.js";
import { identifierType } from "../../../src/core/stix/formats.js";
import {
  tlp1MarkingDefinition,
  tlp2MarkingDefinition,
  TLP2_EXTENSION_ID,
  TLP2_IDS,
  TLP_NAMES,
} from "../../../src/core/stix/tlp.js";
import {
  parseStix,
  validateBundle,
  validateObject,
  type StixIssue,
} from "../../../src/core/stix/validate.js";

const U1 = "6b8d4bd4-4d3b-4a8e-9b5f-0c6a6b2f4a11";
const U2 = "0f3a0a3f-5c1e-4b6d-8a3f-3a2b1c0d9e22";
const T = "2024-03-01T12:00:00.000Z";

const indicator = (props: Record<string, unknown> = {}): Record<string, unknown> => ({
  type: "indicator",
  spec_version: "2.1",
  id: `indicator--${U1}`,
  created: T,
  modified: T,
  pattern: "[ipv4-addr:value = '198.51.100.1']",
  pattern_type: "stix",
  valid_from: T,
  ...props,
});

const bundle = (objects: unknown[]): Record<string, unknown> => ({
  type: "bundle",
  id: `bundle--${U2}`,
  objects,
});

function codes(issues: readonly StixIssue[]): [string, string][] {
  return issues.map((i) => [i.code, i.path]);
}

function thrown(f: () => unknown): AccordError {
  try {
    f();
  } catch (e) {
    if (isAccordError(e)) return e;
    throw e;
  }
  throw new Error("expected an AccordError");
}

describe("parseStix", () => {
  it("returns a valid bundle typed, with its objects", () => {
    const b = parseStix(JSON.stringify(bundle([indicator()])));
    expect(b.type).toBe("bundle");
    expect(b.id).toBe(`bundle--${U2}`);
    expect(b.objects.map((o) => o.id)).toEqual([`indicator--${U1}`]);
  });

  it("gives a bundle without objects an empty list", () => {
    expect(parseStix(JSON.stringify({ type: "bundle", id: `bundle--${U2}` })).objects).toEqual([]);
  });

  it("wraps a single object in a bundle whose id depends only on the object's id and version", () => {
    const a = parseStix(JSON.stringify(indicator()));
    const b = parseStix(`  ${JSON.stringify(indicator({ name: "same version, other text" }))}`);
    expect(a.objects).toHaveLength(1);
    expect(identifierType(a.id)).toBe("bundle");
    expect(a.id).toBe(b.id);
    expect(
      parseStix(JSON.stringify(indicator({ modified: "2024-03-02T00:00:00.000Z" }))).id,
    ).not.toBe(a.id);
  });

  it.each([
    ['{"type": "bundle",}', 1, 19, "unexpected `}`, expected a property name in double quotes"],
    ['{\n  "type": "bundle"\n  "id": 1\n}', 3, 3, 'unexpected `"`, expected `,` or `}`'],
    ["[1, 2,]", 1, 7, "unexpected `]`, expected a value"],
    ['{"a": "b\\x"}', 1, 9, "an invalid escape in a string"],
    ['{"a": "b', 1, 9, "an unterminated string"],
    ['{"a": 01}', 1, 8, "unexpected `1`, expected `,` or `}`"],
    ['{"a": -}', 1, 8, "a number without digits"],
    ["", 1, 1, "unexpected end of input, expected a value"],
    ['{"a": 1} {}', 1, 10, "unexpected `{` after the JSON value"],
    ['{"a": "tab\there"}', 1, 11, "a control character inside a string (it must be escaped)"],
    ["[".repeat(100_000), 1, 100_001, "unexpected end of input, expected a value"],
  ])("refuses malformed JSON %j with its line and column", (text, line, column, reason) => {
    const e = thrown(() => parseStix(text));
    expect(e.code).toBe("ERR_MALFORMED_INPUT");
    expect(e.message).toBe(
      `the input is not valid JSON: ${reason} at line ${String(line)}, column ${String(column)}`,
    );
    expect(e.details).toEqual([
      { path: `${String(line)}:${String(column)}`, message: reason, code: "json" },
    ]);
  });

  it("refuses invalid STIX with one detail per issue, each with its path, object id and code", () => {
    const e = thrown(() =>
      parseStix(
        JSON.stringify(bundle([indicator({ valid_from: "yesterday" }), { type: "x-thing" }])),
      ),
    );
    expect(e.code).toBe("ERR_STIX_INVALID");
    expect(e.message).toMatch(
      /^the input is not valid STIX 2\.1: 2 issues, the first at `\$\.objects\[0\]\.valid_from`: /,
    );
    expect(e.details).toEqual([
      {
        path: "$.objects[0].valid_from",
        objectId: `indicator--${U1}`,
        code: "format.timestamp",
        message: "`yesterday` is not a timestamp: expected `YYYY-MM-DDTHH:mm:ss[.s+]Z` in UTC",
      },
      { path: "$.objects[1].id", code: "required", message: "`id` is required" },
    ]);
  });

  it("reports a lone object's issues at paths from its root", () => {
    const e = thrown(() =>
      parseStix(JSON.stringify(indicator({ pattern: undefined, confidence: 200 }))),
    );
    expect(e.details.map((d) => [d.code, d.path])).toEqual([
      ["range", "$.confidence"],
      ["required", "$.pattern"],
    ]);
  });

  it("accepts deeply nested custom content without exhausting the stack", () => {
    const deep = `${'{"x": '.repeat(50_000)}1${"}".repeat(50_000)}`;
    const text = `{"type":"bundle","id":"bundle--${U2}","objects":[${JSON.stringify(indicator()).slice(0, -1)},"x_deep":${deep}}]}`;
    expect(parseStix(text).objects).toHaveLength(1);
  });

  it("is a TypeError when not given a string", () => {
    expect(() => parseStix(42 as unknown as string)).toThrow(TypeError);
  });
});

describe("validateBundle", () => {
  it("checks the envelope", () => {
    expect(codes(validateBundle([]).issues)).toEqual([["type", "$"]]);
    expect(
      codes(validateBundle({ type: "Bundle", id: `indicator--${U1}`, objects: {} }).issues),
    ).toEqual([
      ["enum", "$.type"],
      ["id-type", "$.id"],
      ["type", "$.objects"],
    ]);
    expect(codes(validateBundle({ id: `bundle--${U2}` }).issues)).toEqual([["required", "$.type"]]);
  });

  it("accepts the same version twice when the content is the same, in any member order", () => {
    const a = indicator({ labels: ["x"] });
    const b = Object.fromEntries(Object.entries(a).reverse());
    expect(validateBundle(bundle([a, b])).issues).toEqual([]);
  });

  it("accepts two versions of one object", () => {
    expect(
      validateBundle(
        bundle([indicator(), indicator({ modified: "2024-03-02T00:00:00.000Z", name: "v2" })]),
      ).issues,
    ).toEqual([]);
  });

  it("reports a version repeated with different content at the later copy", () => {
    const issues = validateBundle(
      bundle([
        indicator(),
        indicator({ modified: "2024-04-01T00:00:00.000Z" }),
        indicator({ name: "changed" }),
      ]),
    ).issues;
    expect(issues).toEqual([
      {
        objectId: `indicator--${U1}`,
        path: "$.objects[2]",
        code: "duplicate-version",
        message: `\`indicator--${U1}\` at version \`${T}\` repeats \`$.objects[0]\` with different content`,
      },
    ]);
  });

  it("compares cyber-observables, which have no version, by id", () => {
    const ip = (value: string): Record<string, unknown> => ({
      type: "ipv4-addr",
      id: `ipv4-addr--${U1}`,
      value,
    });
    expect(validateBundle(bundle([ip("198.51.100.1"), ip("198.51.100.1")])).issues).toEqual([]);
    expect(validateBundle(bundle([ip("198.51.100.1"), ip("198.51.100.2")])).issues).toEqual([
      {
        objectId: `ipv4-addr--${U1}`,
        path: "$.objects[1]",
        code: "duplicate-version",
        message: `\`ipv4-addr--${U1}\` repeats \`$.objects[0]\` with different content`,
      },
    ]);
  });

  it("finds a difference deep inside duplicated content without recursion", () => {
    const nest = (leaf: number): unknown => {
      let v: unknown = leaf;
      for (let i = 0; i < 100_000; i++) v = [v];
      return v;
    };
    const issues = validateBundle(
      bundle([indicator({ x_deep: nest(1) }), indicator({ x_deep: nest(2) })]),
    ).issues;
    expect(codes(issues)).toEqual([["duplicate-version", "$.objects[1]"]]);
  });
});

describe("validateObject", () => {
  it("accepts a minimal indicator", () => {
    expect(validateObject(indicator())).toEqual([]);
  });

  it("prefixes paths with the given path and attaches the object id", () => {
    expect(validateObject(indicator({ labels: [] }), "$.objects[7]")).toEqual([
      {
        objectId: `indicator--${U1}`,
        path: "$.objects[7].labels",
        code: "empty",
        message: "a list must not be empty",
      },
    ]);
  });

  it("leaves objectId out when the object has no string id", () => {
    const [issue] = validateObject({ ...indicator(), id: 7 });
    expect(issue).toEqual({
      path: "$.id",
      code: "type",
      message: "expected an identifier string, found an integer",
    });
    expect(Object.hasOwn(issue!, "objectId")).toBe(false);
  });

  it("writes keys that are not plain names in bracket notation", () => {
    const file = { type: "file", id: `file--${U1}`, hashes: { "SHA-256": "00", "it's": "x" } };
    expect(codes(validateObject(file))).toEqual([
      ["format.hash", "$.hashes['SHA-256']"],
      ["format.dictionary-key", "$.hashes['it\\'s']"],
    ]);
  });

  it("compares created and modified as instants, not as text", () => {
    // Lexically "…00.000Z" sorts after "…00.0001Z", but it is the earlier instant.
    expect(
      codes(
        validateObject(
          indicator({ created: "2024-03-01T12:00:00.0001Z", modified: "2024-03-01T12:00:00.000Z" }),
        ),
      ),
    ).toEqual([["modified-before-created", "$.modified"]]);
    expect(
      validateObject(
        indicator({ created: "2024-03-01T12:00:00.000Z", modified: "2024-03-01T12:00:00.0001Z" }),
      ),
    ).toEqual([]);
  });

  it.each([
    [
      "campaign",
      {
        type: "campaign",
        id: `campaign--${U1}`,
        name: "c",
        first_seen: "2024-02-01T00:00:00Z",
        last_seen: "2024-01-01T00:00:00Z",
      },
      "$.last_seen",
    ],
    ["indicator", indicator({ valid_until: T }), "$.valid_until"],
    [
      "relationship",
      {
        type: "relationship",
        id: `relationship--${U1}`,
        relationship_type: "uses",
        source_ref: `malware--${U1}`,
        target_ref: `tool--${U2}`,
        start_time: T,
        stop_time: T,
      },
      "$.stop_time",
    ],
    [
      "observed-data",
      {
        type: "observed-data",
        id: `observed-data--${U1}`,
        first_observed: T,
        last_observed: "2024-01-01T00:00:00Z",
        number_observed: 1,
        object_refs: [`ipv4-addr--${U2}`],
      },
      "$.last_observed",
    ],
  ])("orders the first and last timestamps of a %s", (_, props, path) => {
    const o = { spec_version: "2.1", created: T, modified: T, ...props };
    expect(codes(validateObject(o))).toEqual([["time-order", path]]);
  });

  it("treats a custom object with created or modified as an SDO, otherwise as an SCO", () => {
    const custom = { type: "x-acme-widget", id: `x-acme-widget--${U1}`, spec_version: "2.1" };
    expect(validateObject(custom)).toEqual([]);
    expect(codes(validateObject({ ...custom, created: T }))).toEqual([["required", "$.modified"]]);
    expect(validateObject({ ...custom, created: T, modified: T, x_acme_size: 3 })).toEqual([]);
    expect(codes(validateObject({ ...custom, type: "X-Widget", id: `x-widget--${U1}` }))).toEqual([
      ["id-type", "$.id"],
      ["format.type-name", "$.type"],
    ]);
    expect(codes(validateObject({ ...custom, type: "action", id: `action--${U1}` }))).toEqual([
      ["reserved", "$.type"],
    ]);
  });

  it("checks extensions: names, emptiness, and the extension type of extension-definition ones", () => {
    const ext = (extensions: unknown): [string, string][] =>
      codes(validateObject(indicator({ extensions })));
    expect(
      ext({ [`extension-definition--${U2}`]: { extension_type: "property-extension", rank: 3 } }),
    ).toEqual([]);
    expect(ext({ "x-acme-ext": { rank: 3 } })).toEqual([]);
    expect(ext({})).toEqual([["empty", "$.extensions"]]);
    expect(ext({ "x-acme-ext": {} })).toEqual([["empty", "$.extensions['x-acme-ext']"]]);
    expect(ext({ acme: { rank: 3 } })).toEqual([["format.extension-name", "$.extensions.acme"]]);
    expect(ext({ [`extension-definition--${U2}`]: { extension_type: "new-thing" } })).toEqual([
      ["enum", `$.extensions['extension-definition--${U2}'].extension_type`],
    ]);
  });

  it("checks the predefined extensions of cyber-observables", () => {
    const file = (extensions: unknown): Record<string, unknown> => ({
      type: "file",
      id: `file--${U1}`,
      name: "a.exe",
      extensions,
    });
    expect(
      validateObject(
        file({
          "windows-pebinary-ext": {
            pe_type: "exe",
            number_of_sections: 4,
            time_date_stamp: "2016-01-20T14:11:25Z",
          },
        }),
      ),
    ).toEqual([]);
    expect(
      codes(
        validateObject(
          file({
            "windows-pebinary-ext": { pe_type: "exe", time_date_stamp: "2016-01-20T14:11:25.5Z" },
          }),
        ),
      ),
    ).toEqual([
      ["format.timestamp-precision", "$.extensions['windows-pebinary-ext'].time_date_stamp"],
    ]);
    expect(codes(validateObject(file({ "archive-ext": { comment: "zip" } })))).toEqual([
      ["required", "$.extensions['archive-ext'].contains_refs"],
    ]);
  });

  it("reads references inside observed-data objects as local keys", () => {
    const od = (objects: unknown): Record<string, unknown> => ({
      type: "observed-data",
      spec_version: "2.1",
      id: `observed-data--${U1}`,
      created: T,
      modified: T,
      first_observed: T,
      last_observed: T,
      number_observed: 1,
      objects,
    });
    const ip = {
      type: "ipv4-addr",
      id: `ipv4-addr--${U2}`,
      value: "198.51.100.3",
      resolves_to_refs: ["1"],
    };
    expect(validateObject(od({ "0": ip }))).toEqual([]);
    expect(codes(validateObject(od({ "0": indicator() })))).toEqual([
      ["enum", "$.objects['0'].type"],
    ]);
    expect(codes(validateObject({ ...ip, resolves_to_refs: ["1"] }))).toEqual([
      ["format.identifier", "$.resolves_to_refs[0]"],
    ]);
  });

  it("requires the canonical form of the predefined TLP markings", () => {
    for (const level of TLP_NAMES)
      expect(validateObject(tlp2MarkingDefinition(level)), level).toEqual([]);
    for (const level of ["white", "green", "amber", "red"] as const)
      expect(validateObject(tlp1MarkingDefinition(level)), level).toEqual([]);
    const red = tlp2MarkingDefinition("red");
    expect(codes(validateObject({ ...red, name: "TLP:GREEN" }))).toEqual([["tlp", "$.name"]]);
    expect(
      codes(
        validateObject({
          ...red,
          extensions: {
            [TLP2_EXTENSION_ID]: { extension_type: "property-extension", tlp_2_0: "clear" },
          },
        }),
      ),
    ).toEqual([["tlp", `$.extensions['${TLP2_EXTENSION_ID}']`]]);
    expect(codes(validateObject({ ...red, id: `marking-definition--${U1}` }))).toEqual([
      ["tlp", `$.extensions['${TLP2_EXTENSION_ID}']`],
    ]);
    expect(
      codes(validateObject({ ...tlp1MarkingDefinition("red"), id: `marking-definition--${U1}` })),
    ).toEqual([["tlp", "$.definition_type"]]);
    expect(validateObject({ ...red, created_by_ref: `identity--${U1}` })).toEqual([]);
    expect(TLP2_IDS.red).toBe(red.id);
  });

  it("refuses a statement marking without its statement", () => {
    const m = {
      type: "marking-definition",
      spec_version: "2.1",
      id: `marking-definition--${U1}`,
      created: T,
      definition_type: "statement",
      definition: {},
    };
    expect(codes(validateObject(m))).toEqual([["required", "$.definition.statement"]]);
    expect(
      codes(validateObject({ ...m, definition_type: undefined, definition: undefined })),
    ).toEqual([
      ["required", "$.definition_type"],
      ["required", "$.definition"],
    ]);
  });

  it("takes hash names in external references from hash-algorithm-ov only (§2.4)", () => {
    const ref = (hashes: unknown): unknown[] => [
      { source_name: "acme", url: "https://example.com/r", hashes },
    ];
    expect(
      validateObject(indicator({ external_references: ref({ "SHA-256": "a".repeat(64) }) })),
    ).toEqual([]);
    expect(
      codes(validateObject(indicator({ external_references: ref({ "x-acme-digest": "abc" }) }))),
    ).toEqual([["format.dictionary-key", "$.external_references[0].hashes['x-acme-digest']"]]);
    expect(
      validateObject({ type: "file", id: `file--${U1}`, hashes: { "x-acme-digest": "abc" } }),
    ).toEqual([]);
  });

  it("never echoes an observable's value, which can be personal data", () => {
    const issues = validateObject({
      type: "email-addr",
      id: `email-addr--${U1}`,
      value: "alice..smith@example.com",
    });
    expect(codes(issues)).toEqual([["format.email", "$.value"]]);
    expect(JSON.stringify(issues)).not.toContain("alice");
  });

  it("writes messages as one lowercase sentence with input in backticks, cut at 64 characters", () => {
    const long = "x".repeat(300);
    const issues = [
      ...validateObject({ type: `${long}\n\``, id: 1 }),
      ...validateObject(
        indicator({
          valid_from: long,
          spec_version: 2.1,
          labels: [1],
          kill_chain_phases: [{}],
          x_bin: "***",
        }),
      ),
    ];
    expect(issues.length).toBeGreaterThan(5);
    for (const i of issues) {
      expect(i.message, i.message).toMatch(/^[a-z`0-9]/);
      expect(i.message, i.message).not.toMatch(/\.$/);
      expect(i.message.length, i.message).toBeLessThan(220);
      expect(i.message, i.message).not.toContain("\n");
    }
    expect(issues.map((i) => i.message)).toContain(
      `\`${"x".repeat(64)}…\` is not a timestamp: expected \`YYYY-MM-DDTHH:mm:ss[.s+]Z\` in UTC`,
    );
  });

  it("refuses what is not an object", () => {
    expect(validateObject(null)).toEqual([
      { path: "$", code: "type", message: "expected a STIX object, found null" },
    ]);
    expect(codes(validateObject([indicator()]))).toEqual([["type", "$"]]);
    expect(codes(validateObject({ id: `indicator--${U1}` }))).toEqual([["required", "$.type"]]);
  });
});
