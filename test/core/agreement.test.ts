import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { parseAgreement, isInForce } from "../../src/core/agreement/parse.js";
import { agreementJsonSchema } from "../../src/core/agreement/schema.js";
import { AccordError } from "../../src/errors.js";

const example = (name: string) =>
  readFileSync(new URL(`../../examples/agreements/${name}`, import.meta.url), "utf8");

function errorOf(fn: () => unknown): AccordError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AccordError) return e;
    throw e;
  }
  throw new Error("expected an AccordError");
}

describe("agreement documents", () => {
  it("parses the example agreements and hashes their canonical form", () => {
    const a = parseAgreement(example("regional-cyber-accord.yaml"), "regional-cyber-accord.yaml");
    expect(a.id).toBe("regional-cyber-accord");
    expect(a.version).toBe(1);
    expect(a.doc.parties.map((p) => p.node)).toEqual(["XA", "XB", "XC"]);
    expect(a.doc.markings.tlp_ceiling).toBe("amber");
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const fiu = parseAgreement(example("fiu-mou.yaml"));
    expect(Object.keys(fiu.doc.data.types)).toEqual([]);
    expect(fiu.doc.markings.unmarked_as).toBe("amber");
  });

  it("gives the same hash to the same document whatever its layout, and another to any change", () => {
    const src = example("regional-cyber-accord.yaml");
    const relaid = parseAgreement(
      src.replace(/^# .*$/gm, "").replace("version: 1", "version:   1"),
    );
    expect(relaid.hash).toBe(parseAgreement(src).hash);
    expect(parseAgreement(src.replace("default_days: 180", "default_days: 181")).hash).not.toBe(
      relaid.hash,
    );
  });

  it("names file, line and column of a schema violation, and every problem at once", () => {
    const src = example("regional-cyber-accord.yaml")
      .replace("tlp_ceiling: amber", "tlp_ceiling: purple")
      .replace("default_days: 180", "default_days: -3");
    const e = errorOf(() => parseAgreement(src, "accord.yaml"));
    expect(e.code).toBe("ERR_AGREEMENT_INVALID");
    const ceiling = e.details.find((d) => d.message.startsWith("markings.tlp_ceiling"));
    const line = src.split("\n").findIndex((l) => l.includes("tlp_ceiling: purple")) + 1;
    expect(ceiling?.path).toBe(`accord.yaml:${line}:16`);
    expect(e.details.some((d) => d.message.startsWith("retention.default_days"))).toBe(true);
  });

  it("refuses malformed YAML with its position", () => {
    const e = errorOf(() => parseAgreement("agreement: x\nparties: [a, b\n", "bad.yaml"));
    expect(e.code).toBe("ERR_MALFORMED_INPUT");
    expect(e.message).toMatch(/^bad\.yaml:\d+:\d+: /);
  });

  it("refuses unknown keys, duplicate parties, a purpose both permitted and prohibited, and a sunset before the start", () => {
    const base = example("regional-cyber-accord.yaml");
    expect(errorOf(() => parseAgreement(`${base}\nsurprise: true\n`)).code).toBe(
      "ERR_AGREEMENT_INVALID",
    );
    expect(
      errorOf(() => parseAgreement(base.replace("  - node: XC", "  - node: XA"))).details[0]
        ?.message,
    ).toMatch(/listed twice/);
    expect(
      errorOf(() =>
        parseAgreement(
          base.replace("prohibited: [immigration-enforcement", "prohibited: [cyber-defence"),
        ),
      ).details[0]?.message,
    ).toMatch(/both permitted and prohibited/);
    expect(
      errorOf(() => parseAgreement(base.replace("sunset: 2027-06-30", "sunset: 2025-06-30")))
        .details[0]?.message,
    ).toMatch(/sunset must come after/);
  });

  it("refuses duplicate YAML keys rather than silently taking the last", () => {
    const e = errorOf(() =>
      parseAgreement(example("fiu-mou.yaml").replace("version: 1", "version: 1\nversion: 2")),
    );
    expect(e.code).toBe("ERR_MALFORMED_INPUT");
  });

  it("is in force from 00:00 UTC on effective_from until 00:00 UTC on the sunset", () => {
    const a = parseAgreement(example("regional-cyber-accord.yaml"));
    expect(isInForce(a, new Date("2025-12-31T23:59:59Z"))).toBe(false);
    expect(isInForce(a, new Date("2026-01-01T00:00:00Z"))).toBe(true);
    expect(isInForce(a, new Date("2027-06-29T23:59:59Z"))).toBe(true);
    expect(isInForce(a, new Date("2027-06-30T00:00:00Z"))).toBe(false);
  });

  it("publishes a JSON Schema that is the committed spec file and accepts the examples", () => {
    const committed = JSON.parse(
      readFileSync(new URL("../../spec/agreement.schema.json", import.meta.url), "utf8"),
    );
    const { $id: _id, title: _title, ...rest } = committed;
    expect(rest).toEqual(agreementJsonSchema());
    const ajv = new Ajv2020({ strict: false });
    addFormats.default(ajv);
    const validate = ajv.compile(committed);
    for (const f of ["regional-cyber-accord.yaml", "fiu-mou.yaml"])
      expect(validate(parseYaml(example(f))), f).toBe(true);
    expect(validate({ agreement: "x" })).toBe(false);
    expect(validate({ ...parseYaml(example("fiu-mou.yaml")), sunset: "someday" })).toBe(false);
  });
});
