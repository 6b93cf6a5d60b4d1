/**
 * `accord minimize` (the dry run) and the node-side minimization setup: profiles by name from the
 * shipped directory and a node's own, the 0600 minimization secret made by `accord init`, epochs
 * and the default grade from accord.yaml. The CLI runs in process through `main()` with real files.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { main } from "../../src/cli/main.js";
import { loadConfig } from "../../src/cli/config.js";
import {
  loadMinimizationSetup,
  loadProfiles,
  SHIPPED_PROFILES_DIR,
} from "../../src/cli/profiles.js";
import { loadMinimizationSecret } from "../../src/cli/secrets.js";
import type { RunningNode } from "../../src/cli/compose.js";
import {
  createNodeDir,
  EXAMPLES,
  freePort,
  introduce,
  makeTempDir,
  removeDir,
  start,
} from "../support/nodes.js";

const BUNDLE = join(EXAMPLES, "demo", "ransomware-intrusion.json");
const QUIET = { out: () => undefined, err: () => undefined };
const TOKEN = /pseu-v1-[A-Za-z0-9_-]{22}@pseudonym\.invalid/;

async function accord(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(
    args,
    {},
    {
      out: (t: string) => {
        out += t;
      },
      err: (t: string) => {
        err += t;
      },
    },
  );
  return { code, out, err };
}

describe("accord minimize", () => {
  let tmp: string;
  let node: string;
  beforeAll(async () => {
    tmp = makeTempDir("accord-minimize-");
    node = join(tmp, "xa");
    expect((await accord(["init", "--node-id", "XA", "--dir", node])).code).toBe(0);
  });
  afterAll(() => {
    removeDir(tmp);
  });

  it("uses the strictest profile when none is named: the e-mail refuses, nothing personal is printed", async () => {
    const r = await accord(["minimize", BUNDLE, "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.profile).toBe("strict");
    expect(doc.keys).toBe("one-off");
    const mail = doc.objects.find((o: any) => o.type === "email-addr");
    expect(mail.effect).toBe("deny");
    expect(mail.refused.map((f: any) => f.code)).toContain("type-not-allowed");
    const c2 = doc.objects.find(
      (o: any) => o.id === "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
    );
    expect(c2.effect).toBe("permit");
    expect(c2.changes).toContainEqual(
      expect.objectContaining({ path: "pattern", action: "generalized" }),
    );
    const sent = doc.bundle.objects.find((o: any) => o.id === c2.sentAs);
    expect(sent.pattern).toBe("[ipv4-addr:value ISSUBSET '203.0.113.0/24']");
    expect(r.out).not.toContain("k.varga");
    expect(r.out).not.toContain("DE89");
  });

  it("prints for people what was removed or transformed and why, and the minimized bundle", async () => {
    const r = await accord(["minimize", BUNDLE, "--profile", "cyber-default", "--grade", "B2"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("profile cyber-default");
    expect(r.out).toMatch(
      /pseudonymized +value: an e-mail address under the agreement's key \[email\]/,
    );
    expect(r.out).toMatch(/removed +created_by_ref: source protection/);
    expect(r.out).toContain("source replaced by grade B2");
    expect(r.out).toContain("note--a5a378b2-9db1-47e7-b023-3c3d42a6184e: refused");
    expect(r.out).toMatch(TOKEN);
    expect(r.out).not.toContain("k.varga");
    const bundle = JSON.parse(r.out.slice(r.out.indexOf("Minimized bundle:") + 17));
    expect(bundle.type).toBe("bundle");
    expect(bundle.objects).toHaveLength(12); // 11 objects and the source-grade definition
  });

  it("in a node directory, uses the node's secret: the same token each run, another for another epoch or agreement", async () => {
    const run = async (...more: string[]) => {
      const r = await accord([
        "minimize",
        BUNDLE,
        "--profile",
        "cyber-default",
        "--dir",
        node,
        "--json",
        ...more,
      ]);
      expect(r.code, r.err).toBe(0);
      const doc = JSON.parse(r.out);
      expect(doc.keys).toBe("node");
      return doc.bundle.objects.find((o: any) => o.type === "email-addr").value as string;
    };
    const a = await run("--agreement", "regional-cyber-accord");
    expect(a).toMatch(TOKEN);
    expect(await run("--agreement", "regional-cyber-accord")).toBe(a);
    expect(await run("--agreement", "regional-cyber-accord", "--epoch", "1")).not.toBe(a);
    expect(await run("--agreement", "fiu-mou")).not.toBe(a);
  });

  it("refuses an unknown profile, a bad grade and a missing file with the right exit codes", async () => {
    const unknown = await accord(["minimize", BUNDLE, "--profile", "lenient"]);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toContain("no minimization profile `lenient`");
    expect(unknown.err).toContain("strict");
    const grade = await accord(["minimize", BUNDLE, "--grade", "europol-4x4:E5"]);
    expect(grade.code).toBe(3);
    expect(grade.err).toContain("is not a europol-4x4 grade");
    expect((await accord(["minimize", join(tmp, "nope.json")])).code).toBe(3);
    expect((await accord(["minimize"])).code).toBe(2);
  });
});

describe("minimization setup of a node", () => {
  let tmp: string;
  beforeAll(() => {
    tmp = makeTempDir("accord-minsetup-");
  });
  afterAll(() => {
    removeDir(tmp);
  });

  it("init writes a 0600 minimization secret of 32 random bytes beside the keys", async () => {
    const dir = join(tmp, "n1");
    expect(await main(["init", "--node-id", "XA", "--dir", dir], {}, QUIET)).toBe(0);
    const file = join(dir, "keys", "minimization-secret");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadMinimizationSecret(file)).toHaveLength(32);
    writeFileSync(file, "c2hvcnQ=\n", { mode: 0o600 });
    expect(() => loadMinimizationSecret(file)).toThrow(/at least 32 random bytes/);
  });

  it("reads profiles from the shipped directory and the node's own, and refuses a name defined twice", () => {
    const own = join(tmp, "profiles");
    mkdirSync(own, { recursive: true });
    const strict = readFileSync(join(SHIPPED_PROFILES_DIR, "strict.yaml"), "utf8");
    writeFileSync(join(own, "narrow.yaml"), strict.replace("profile: strict", "profile: narrow"));
    const profiles = loadProfiles([SHIPPED_PROFILES_DIR, own]);
    expect([...profiles.keys()]).toEqual(
      expect.arrayContaining(["strict", "cyber-default", "narrow"]),
    );
    writeFileSync(join(own, "copy.yaml"), strict);
    expect(() => loadProfiles([SHIPPED_PROFILES_DIR, own])).toThrow(/`strict` is already defined/);
    expect(() => loadProfiles([own + "-missing"])).toThrow(/no `strict` profile/);
  });

  it("takes the default grade and the epochs from accord.yaml, and refuses a grade outside its scheme", async () => {
    const dir = join(tmp, "n2");
    expect(await main(["init", "--node-id", "XB", "--dir", dir], {}, QUIET)).toBe(0);
    const file = join(dir, "accord.yaml");
    const cfg = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    cfg.minimization = {
      source_grade: { scheme: "admiralty", code: "B2" },
      epoch: 3,
      epochs: { "regional-cyber-accord": 7 },
    };
    writeFileSync(file, stringify(cfg));
    const setup = loadMinimizationSetup(loadConfig(dir, {}));
    expect(setup.sourceGrade).toEqual({ scheme: "admiralty", reliability: "B", credibility: 2 });
    expect(setup.epoch("regional-cyber-accord")).toBe(7);
    expect(setup.epoch("fiu-mou")).toBe(3);
    expect(setup.epoch("constructor")).toBe(3);
    expect(setup.profiles.has("strict")).toBe(true);
    cfg.minimization = { source_grade: { scheme: "europol-4x4", code: "E5" } };
    writeFileSync(file, stringify(cfg));
    expect(() => loadConfig(dir, {})).toThrow(/not a grade of that scheme/);
  });
});

describe("accord policy explain", () => {
  let tmp: string;
  let nodes: RunningNode[] = [];
  let xaDir: string;
  beforeAll(async () => {
    tmp = makeTempDir("accord-explain-");
    const src = parse(
      readFileSync(join(EXAMPLES, "agreements", "regional-cyber-accord.yaml"), "utf8"),
    ) as { parties: { node: string }[] };
    src.parties = src.parties.filter((p) => p.node !== "XC");
    const dirs = [];
    for (const id of ["XA", "XB"]) {
      const d = createNodeDir(tmp, { id, agreements: [], port: await freePort() });
      writeFileSync(join(d.dir, "agreements", "cyber.yaml"), stringify(src));
      dirs.push(d);
    }
    xaDir = dirs[0]!.dir;
    for (const d of dirs) nodes.push(await start(d));
    await introduce(nodes);
    for (const n of nodes)
      await (
        n.node as unknown as { agreementBook?: { sign(id: string): Promise<unknown> } }
      ).agreementBook?.sign("regional-cyber-accord");
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    nodes = [];
    removeDir(tmp);
  });

  it("shows the minimized copy the partner would receive", async () => {
    const bundle = JSON.parse(readFileSync(BUNDLE, "utf8"));
    const file = join(tmp, "email.json");
    writeFileSync(
      file,
      JSON.stringify(bundle.objects.find((o: { type: string }) => o.type === "email-addr")),
    );
    const r = await accord([
      "policy",
      "explain",
      file,
      "--purpose",
      "cyber-defence",
      "--dir",
      xaDir,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("XB under regional-cyber-accord v1: permit");
    expect(r.out).toContain("minimized (profile cyber-default): sent as");
    expect(r.out).toContain("pseudonymized value: an e-mail address under the agreement's key");
    expect(r.out).toMatch(TOKEN);
    expect(r.out).not.toContain("k.varga");
  });
});
