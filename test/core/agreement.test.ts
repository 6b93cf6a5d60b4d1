import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parse as parseYaml } from "yaml";
import { MAX_AGREEMENT_BYTES, parseAgreement, isInForce } from "../../src/core/agreement/parse.js";
import {
  governAll,
  lifecycleState,
  signAgreement,
  signConsent,
  verifyConsent,
  verifySignatures,
  versionsAt,
} from "../../src/core/agreement/lifecycle.js";
import { diffAgreements } from "../../src/core/agreement/diff.js";
import { generateNodeKeys } from "../../src/crypto/keys.js";
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
    // Hit/no-hit only; after an approved follow-up request the holder's identity (spec/match.md).
    expect(Object.keys(fiu.doc.data.types)).toEqual(["identity"]);
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

describe("agreement lifecycle", () => {
  const src = example("regional-cyber-accord.yaml");
  const a = parseAgreement(src);
  const keys = new Map(["XA", "XB", "XC"].map((n) => [n, generateNodeKeys()] as const));
  const jwks = new Map([...keys].map(([n, k]) => [n, k.signing.publicJwk] as const));
  const at = new Date("2026-06-01T00:00:00Z");
  const signAll = (x = a) =>
    Promise.all([...keys].map(([n, k]) => signAgreement(x, n, k.signing.privateKey)));

  it("is in force once every party signed the canonical hash of that version", async () => {
    const check = await verifySignatures(a, await signAll(), jwks);
    expect(check).toEqual({ signed: ["XA", "XB", "XC"], missing: [], invalid: [] });
    expect(lifecycleState(a, check, [], at).status).toBe("in-force");
  });

  it("refuses a signature over another version's hash, and a forged one", async () => {
    const v2 = parseAgreement(src.replace("version: 1", "version: 2\nsupersedes: 1"));
    const sigs = await signAll();
    const moved = sigs.map((s) => (s.node === "XB" ? { ...s, version: 2, hash: v2.hash } : s));
    const check = await verifySignatures(a, moved, jwks);
    expect(check.missing).toEqual(["XB"]);
    expect(check.invalid).toEqual(["XB"]);
    const forged = await signAgreement(a, "XC", generateNodeKeys().signing.privateKey);
    const c2 = await verifySignatures(a, [...sigs.filter((s) => s.node !== "XC"), forged], jwks);
    expect(c2.invalid).toEqual(["XC"]);
    expect(lifecycleState(a, c2, [], at).status).toBe("proposed");
    expect(lifecycleState(a, await verifySignatures(a, [], jwks), [], at).status).toBe("draft");
  });

  it("keeps at most one version in force: the amendment supersedes on its effective date", async () => {
    const v2 = parseAgreement(
      src
        .replace("version: 1", "version: 2\nsupersedes: 1")
        .replace("effective_from: 2026-01-01", "effective_from: 2026-07-01"),
    );
    const versions = [
      { agreement: a, signatures: await signAll() },
      { agreement: v2, signatures: await signAll(v2) },
    ];
    const before = await governAll(versions, jwks, [], at);
    expect(before.map((g) => g.state.status)).toEqual(["in-force", "not-yet-effective"]);
    const after = await governAll(versions, jwks, [], new Date("2026-07-01T00:00:00Z"));
    expect(after.map((g) => g.state.status)).toEqual(["superseded", "in-force"]);
  });

  it("verifies a consent only under the originator's key and only for its exact body", async () => {
    const body = {
      type: "accord-consent/1" as const,
      originator: "XA",
      object: "*",
      holder: "XB",
      recipient: "XC",
      agreement: a.id,
      purpose: "cyber-defence",
      expires: "2027-01-01T00:00:00Z",
    };
    const xa = keys.get("XA");
    const xb = keys.get("XB");
    if (xa === undefined || xb === undefined) throw new Error("keys");
    const c = await signConsent(body, xa.signing.privateKey);
    expect(await verifyConsent(c, xa.signing.publicJwk)).toBe(true);
    expect(await verifyConsent(c, xb.signing.publicJwk)).toBe(false);
    expect(await verifyConsent({ ...c, recipient: "XD" }, xa.signing.publicJwk)).toBe(false);
    expect(await verifyConsent({ ...c, jws: "x..y" }, xa.signing.publicJwk)).toBe(false);
    expect(await verifyConsent(null, xa.signing.publicJwk)).toBe(false);
  });

  it("governs by dates alone with the newest effective version, the amended one until then", () => {
    const v2 = parseAgreement(
      src
        .replace("version: 1", "version: 2\nsupersedes: 1")
        .replace("effective_from: 2026-01-01", "effective_from: 2026-07-01"),
    );
    const fiu = parseAgreement(example("fiu-mou.yaml"));
    expect(versionsAt([v2, fiu, a], at).map((x) => `${x.id}@${x.version}`)).toEqual([
      "regional-cyber-accord@1",
      "fiu-mou@1",
    ]);
    expect(versionsAt([a, v2], new Date("2026-07-01T00:00:00Z")).map((x) => x.version)).toEqual([
      2,
    ]);
    expect(
      versionsAt([v2], at).map((x) => x.version),
      "only a future version",
    ).toEqual([2]);
  });

  it("lists the clauses an amendment changes", () => {
    const v2 = parseAgreement(
      src
        .replace("version: 1", "version: 2\nsupersedes: 1")
        .replace("tlp_ceiling: amber", "tlp_ceiling: green"),
    );
    expect(diffAgreements(a, v2).map((c) => `${c.kind} ${c.path}`)).toEqual([
      "changed markings.tlp_ceiling",
      "added supersedes",
      "changed version",
    ]);
  });
});

describe("hostile agreement sources", () => {
  it("refuses a document over the size limit before parsing it", () => {
    const e = errorOf(() =>
      parseAgreement(`title: x\n#${"x".repeat(MAX_AGREEMENT_BYTES)}`, "big.yaml"),
    );
    expect(e.code).toBe("ERR_AGREEMENT_INVALID");
    expect(e.message).toMatch(/^big\.yaml: the agreement is larger than 256 KiB/);
  });

  it("refuses anchors and aliases with the position of each", () => {
    const e = errorOf(() => parseAgreement("a: &x [1]\nb: *x\n", "bomb.yaml"));
    expect(e.code).toBe("ERR_MALFORMED_INPUT");
    expect(e.details.map((d) => d.path)).toEqual(["bomb.yaml:1:7", "bomb.yaml:2:4"]);
  });

  it("says what a date should look like", () => {
    const e = errorOf(() =>
      parseAgreement(example("fiu-mou.yaml").replace("sunset: 2028-12-31", "sunset: 31/12/2028")),
    );
    expect(e.details[0]?.message).toBe(
      "sunset: expected a date as YYYY-MM-DD that exists in the calendar",
    );
  });
});
