/**
 * Profiles (src/core/minimize/profile.ts; spec/minimization.md §profiles): the examples parse,
 * defaults are the strict choice, and errors carry file:line:col and the member at fault.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import { allows, parseProfile } from "../../src/core/minimize/index.js";
import { exampleProfile } from "./support.js";

function errorOf(run: () => unknown): AccordError {
  try {
    run();
  } catch (e) {
    if (e instanceof AccordError) return e;
    throw e;
  }
  throw new Error("expected an AccordError");
}

describe("parseProfile", () => {
  const dir = new URL("../../examples/profiles/", import.meta.url);
  it.each(readdirSync(dir).filter((f) => f.endsWith(".yaml")))(
    "parses examples/profiles/%s",
    (f) => {
      const p = parseProfile(readFileSync(new URL(f, dir), "utf8"), f);
      expect(p.name).toBe(f.replace(/\.yaml$/, ""));
    },
  );

  it("compiles nested paths, list items and wildcards into the allowlist", () => {
    const p = exampleProfile("cyber-default");
    expect(allows(p, "attack-pattern", ["external_references", 0, "external_id"])).toBe(true);
    expect(allows(p, "attack-pattern", ["external_references", 0, "description"])).toBe(false);
    expect(allows(p, "indicator", ["kill_chain_phases", 1, "phase_name"])).toBe(true);
    expect(allows(p, "indicator", ["created_by_ref"])).toBe(false);
    expect(allows(p, "marking-definition", ["extensions", "extension-definition--x", "tlp"])).toBe(
      true,
    );
    expect(allows(p, "note", ["content"])).toBe(false);
    expect(allows(p, "indicator", ["object_marking_refs", 0]), "markings are always allowed").toBe(
      true,
    );
  });

  it("defaults to redaction, source protection and no types", () => {
    const p = parseProfile("profile: bare\nversion: 1\ntypes: {}\n");
    expect(p.types.size).toBe(0);
    expect(p.detectors.email).toBe("redact");
    expect(p.detectors.iban).toBe("refuse");
    expect(p.source.enabled).toBe(true);
    expect(p.source.reissueIds).toBe(true);
    expect(p.source.remove.has("created_by_ref")).toBe(true);
  });

  it("reports schema errors with file, line and column", () => {
    const src =
      "profile: p\nversion: 1\ntypes:\n  indicator:\n    properties: [name, 'bad path!']\ndetectors:\n  email: shred\n";
    const e = errorOf(() => parseProfile(src, "p.yaml"));
    expect(e.code).toBe("ERR_BAD_REQUEST");
    const paths = e.details.map((d) => d.path);
    expect(paths).toContain("p.yaml:5:24");
    expect(paths).toContain("p.yaml:7:10");
    expect(e.details.some((d) => d.message.startsWith("detectors.email:"))).toBe(true);
  });

  it("rejects unknown members and generalization by a detector that cannot generalize", () => {
    const e = errorOf(() =>
      parseProfile(
        "profile: p\nversion: 1\ntypes: {}\nmystery: 1\ndetectors: { email: generalize }\n",
        "p.yaml",
      ),
    );
    expect(e.details.length).toBe(2);
    expect(e.details.map((d) => d.message).join(" ")).toContain(
      "only the `ip` detector can generalize",
    );
  });

  it("reports YAML syntax errors as malformed input", () => {
    const e = errorOf(() => parseProfile("profile: [unclosed\n", "p.yaml"));
    expect(e.code).toBe("ERR_MALFORMED_INPUT");
    expect(e.message).toMatch(/^p\.yaml:\d+:\d+: /);
  });
});
