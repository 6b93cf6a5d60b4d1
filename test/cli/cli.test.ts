/**
 * The CLI as a user runs it: the built binary in child processes, real node processes talking
 * HTTP, real files. `npm test` builds dist/ first (pretest).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES, freePort, makeTempDir, removeDir } from "../support/nodes.js";

const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;
const DATA = new URL("../../../shared/data/", import.meta.url).pathname;

function accord(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("accord (CLI)", () => {
  let tmp: string;
  beforeAll(() => {
    if (!existsSync(BIN))
      throw new Error("dist/cli/main.js is missing: run `npm run build` (npm test does it first)");
    tmp = makeTempDir("accord-cli-");
  });
  afterAll(() => {
    removeDir(tmp);
  });

  it('takes an option value that starts with "-" (a base64url fingerprint may) as the value', () => {
    const r = accord([
      "peer",
      "add",
      "http://127.0.0.1:1",
      "--fingerprint",
      "-Abc",
      "--dir",
      join(tmp, "no-such-node"),
    ]);
    expect(r.err).not.toContain("ambiguous");
    expect(r.err).toContain("no `accord.yaml`");
    expect(r.code).toBe(3);
  });

  it("prints help with every command and exits 0; an unknown command exits 2", () => {
    const help = accord(["--help"]);
    expect(help.code).toBe(0);
    for (const c of [
      "demo",
      "init",
      "node start",
      "ingest",
      "share",
      "peer add",
      "ledger",
      "validate",
    ])
      expect(help.out).toContain(c);
    const bad = accord(["frobnicate"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("unknown command `frobnicate`");
    expect(accord(["share", "--bogus-flag"]).code).toBe(2);
    // The commands against a running node's API refuse an unknown flag the same way.
    for (const command of ["keys", "recall", "officer"]) {
      const r = accord([command, "--bogus-flag"]);
      expect(r.code, command).toBe(2);
      expect(r.err, command).toContain("Unknown option '--bogus-flag'");
      expect(r.err, command).not.toContain("internal error");
    }
  });

  it("init creates a config and 0600 secrets, and never overwrites a node's keys", () => {
    const dir = join(tmp, "n1");
    const r = accord(["init", "--node-id", "XA", "--dir", dir, "--json"]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.nodeId).toBe("XA");
    expect(out.fingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const f of ["keys/node-keys.json", "keys/api-token", "keys/minimization-secret"])
      expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, "accord.yaml"), "utf8")).not.toContain(
      readFileSync(join(dir, "keys/api-token"), "utf8").trim(),
    );
    const again = accord(["init", "--node-id", "XA", "--dir", dir]);
    expect(again.code).toBe(3);
    expect(again.err).toContain("already exists");
  });

  it("validates a bundle offline: 0 when valid, 3 naming the object and path when not, 3 on malformed JSON", () => {
    expect(accord(["validate", join(EXAMPLES, "demo", "ransomware-intrusion.json")]).code).toBe(0);
    const bundle = JSON.parse(
      readFileSync(join(EXAMPLES, "demo", "ransomware-intrusion.json"), "utf8"),
    );
    bundle.objects[1].modified = "2020-01-01T00:00:00.000Z"; // before `created`
    const badFile = join(tmp, "bad.json");
    writeFileSync(badFile, JSON.stringify(bundle));
    const bad = accord(["validate", badFile, "--json"]);
    expect(bad.code).toBe(3);
    const err = JSON.parse(bad.out).error;
    expect(err.code).toBe("ERR_STIX_INVALID");
    expect(err.details).toContainEqual(
      expect.objectContaining({
        objectId: "malware--35b2639d-9668-4b40-b8ba-5ba663257527",
        path: "$.objects[1].modified",
      }),
    );
    writeFileSync(join(tmp, "trunc.json"), '{"type": "bundle", "objects": [');
    const trunc = accord(["validate", join(tmp, "trunc.json")]);
    expect(trunc.code).toBe(3);
    expect(trunc.err).toContain("ERR_MALFORMED_INPUT");
  });

  it.skipIf(!existsSync(DATA))(
    "names the real defects of the ATLAS corpus (needs ../shared/data)",
    () => {
      const r = accord(["validate", join(DATA, "corpora", "stix-atlas.json"), "--json"]);
      expect(r.code).toBe(3);
      const details = JSON.parse(r.out).error.details as { code?: string }[];
      expect(details.some((d) => d.code === "duplicate-version")).toBe(true);
      expect(details.some((d) => d.code === "modified-before-created")).toBe(true);
    },
  );

  it("lints agreements, with file:line:col on errors", () => {
    expect(
      accord(["agreement", "lint", join(EXAMPLES, "agreements", "regional-cyber-accord.yaml")])
        .code,
    ).toBe(0);
    const f = join(tmp, "bad-agreement.yaml");
    writeFileSync(
      f,
      readFileSync(join(EXAMPLES, "agreements", "fiu-mou.yaml"), "utf8").replace(
        "tlp_ceiling: amber",
        "tlp_ceiling: mauve",
      ),
    );
    const r = accord(["agreement", "lint", f]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(new RegExp(`${f}:\\d+:\\d+: markings\\.tlp_ceiling`));
  });

  it("refuses to start a node whose keys are readable by others", () => {
    const dir = join(tmp, "n2");
    expect(accord(["init", "--node-id", "XB", "--dir", dir]).code).toBe(0);
    chmodSync(join(dir, "keys", "node-keys.json"), 0o644);
    const r = accord(["node", "start", "--dir", dir]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("ERR_KEYS_INVALID");
    expect(r.err).toContain("chmod 600");
  });

  it("says the node is unreachable (exit 5) when it is not running", () => {
    const dir = join(tmp, "n3");
    expect(accord(["init", "--node-id", "XC", "--dir", dir, "--port", "1"]).code).toBe(0);
    const r = accord(["status", "--dir", dir]);
    expect(r.code).toBe(5);
    expect(r.err).toContain("accord node start");
  });
});

describe("two node processes driven from the CLI, as the README shows", () => {
  let tmp: string;
  const procs: ChildProcess[] = [];
  beforeAll(() => {
    tmp = makeTempDir("accord-cli-flow-");
  });
  afterAll(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((r) => {
            if (p.exitCode !== null) r(null);
            else p.once("exit", r);
          }),
      ),
    );
    removeDir(tmp);
  });

  const startProcess = async (dir: string, url: string) => {
    const p = spawn(process.execPath, [BIN, "node", "start", "--dir", dir], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    procs.push(p);
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${url}/healthz`)).ok) return p;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`node in ${dir} did not come up`);
  };

  it("init, start, introduce, sign the agreement, ingest, share, and verify the ledgers", async () => {
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const a = join(tmp, "xa");
    const b = join(tmp, "xb");
    const c = join(tmp, "xc");
    const fpA = JSON.parse(
      accord(["init", "--node-id", "XA", "--dir", a, "--port", String(pa), "--json"]).out,
    ).fingerprint;
    const fpB = JSON.parse(
      accord(["init", "--node-id", "XB", "--dir", b, "--port", String(pb), "--json"]).out,
    ).fingerprint;
    const fpC = JSON.parse(
      accord(["init", "--node-id", "XC", "--dir", c, "--port", String(pc), "--json"]).out,
    ).fingerprint;
    for (const d of [a, b, c])
      writeFileSync(
        join(d, "agreements", "cyber.yaml"),
        readFileSync(join(EXAMPLES, "agreements", "regional-cyber-accord.yaml")),
      );
    await startProcess(a, `http://127.0.0.1:${pa}`);
    await startProcess(b, `http://127.0.0.1:${pb}`);
    await startProcess(c, `http://127.0.0.1:${pc}`);

    const wrongFp = accord([
      "peer",
      "add",
      `http://127.0.0.1:${pb}`,
      "--fingerprint",
      fpA,
      "--dir",
      a,
    ]);
    expect(wrongFp.code, wrongFp.err).toBe(4);
    expect(wrongFp.err).toContain("ERR_SIGNATURE_INVALID");
    expect(
      accord(["peer", "add", `http://127.0.0.1:${pb}`, "--fingerprint", fpB, "--dir", a]).code,
    ).toBe(0);
    expect(
      accord(["peer", "add", `http://127.0.0.1:${pa}`, "--fingerprint", fpA, "--dir", b]).code,
    ).toBe(0);
    // XC is introduced through the API (the CLI path is shown above), to spare processes.
    for (const [url, fp, d, port] of [
      [`http://127.0.0.1:${pc}`, fpC, a, pa],
      [`http://127.0.0.1:${pc}`, fpC, b, pb],
      [`http://127.0.0.1:${pa}`, fpA, c, pc],
      [`http://127.0.0.1:${pb}`, fpB, c, pc],
    ] as const) {
      const token = readFileSync(join(d, "keys", "api-token"), "utf8").trim();
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/peers`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ url, fingerprint: fp }),
      });
      expect(res.status).toBe(201);
    }

    // The accord binds nobody until XA, XB and XC have each signed it on their own node.
    const ID = "regional-cyber-accord";
    const draft = accord(["agreement", "status", ID, "--dir", a]);
    expect(draft.code).toBe(4);
    expect(draft.out).toContain(`${ID}: not in force: draft`);
    expect(accord(["agreement", "sign", ID, "--dir", a]).code).toBe(4);
    const half = accord(["agreement", "sign", ID, "--dir", b]);
    expect(half.code).toBe(4);
    expect(half.out).toContain("-> XA: exchanged");
    expect(half.out).toContain("awaiting XC");
    const ingest = accord([
      "ingest",
      join(EXAMPLES, "demo", "ransomware-intrusion.json"),
      "--dir",
      a,
      "--json",
    ]);
    expect(ingest.code).toBe(0);
    expect(JSON.parse(ingest.out).stored).toBe(12);

    const early = accord(["share", "--to", "XB", "--purpose", "cyber-defence", "--dir", a]);
    expect(early.code).toBe(4);
    expect(early.out).toContain("the agreement is proposed: not signed by `XC`");
    const last = accord(["agreement", "sign", ID, "--dir", c]);
    expect(last.code).toBe(0);
    expect(last.out).toContain(`${ID} v1: in force: signed by XA, XB, XC`);
    const seenByB = accord(["agreement", "status", ID, "--dir", b, "--json"]);
    expect(seenByB.code).toBe(0);
    expect(JSON.parse(seenByB.out)).toMatchObject({ status: "in-force", awaiting: [] });

    const share = accord(["share", "--to", "XB", "--purpose", "cyber-defence", "--dir", a]);
    expect(share.code).toBe(0);
    expect(share.out).toContain("XB: 11 sent in 1 envelope(s), 1 refused");
    expect(share.out).toContain("`x_iban`");
    expect(share.out).toContain("delivery: 1 of 1 envelopes delivered");

    const wrongPurpose = accord([
      "share",
      "--to",
      "XB",
      "--purpose",
      "political-monitoring",
      "--dir",
      a,
    ]);
    expect(wrongPurpose.code).toBe(4);
    expect(wrongPurpose.out).toContain("§purposes.prohibited");

    const status = JSON.parse(accord(["status", "--dir", b, "--json"]).out);
    expect(status.objects).toBe(11);
    expect(status.peers).toEqual(["XA", "XC"]);
    for (const d of [a, b, c]) {
      const v = accord(["ledger", "--verify", "--dir", d, "--json"]);
      expect(v.code).toBe(0);
      expect(JSON.parse(v.out).firstBroken).toBe(-1);
    }
  }, 600_000); // a score of CLI processes in sequence: slow on a loaded machine
});

describe("accord demo --once", () => {
  it("plays scenario steps 1-5 and 8 across node servers and leaves the databases behind", () => {
    const dir = join(makeTempDir("accord-demo-"), "demo");
    try {
      const r = accord(["demo", "--once", "--data-dir", dir, "--base-port", "0"]);
      expect(r.err).toBe("");
      expect(r.code).toBe(0);
      expect(r.out).toContain("Step 1: XA's CERT ingests a ransomware intrusion");
      expect(r.out).toContain(
        "refused: property `x_iban` is not permitted for `identity` under `regional-cyber-accord` v1 §data.types.identity.properties",
      );
      expect(r.out).toContain("is marked TLP:RED, above the ceiling TLP:AMBER");
      for (const step of ["Step 2:", "Step 3:", "Step 4:", "Step 5:", "Step 8:"])
        expect(r.out).toContain(step);
      expect(r.out).toContain("the suspect's IBAN: HIT");
      expect(r.out).not.toContain("FAIL");
      for (const n of ["XA", "XB", "XC"]) expect(existsSync(join(dir, n, "accord.db"))).toBe(true);
      // Step 8: a delivery outstanding under the pilot (XB offline) is cancelled at its sunset,
      // and XA's log, read from its database, holds the cancel.
      const cancel = /XA's delivery loop cancels envelope ([0-9a-f-]{36}): cancelled/.exec(r.out);
      expect(cancel, "step 8 cancels an outstanding delivery").not.toBeNull();
      const tail = accord(["log", "tail", "--limit", "1000", "--dir", join(dir, "XA"), "--json"]);
      expect(tail.code).toBe(0);
      const entries = (JSON.parse(tail.out) as { entries: { kind: string; data: unknown }[] })
        .entries;
      expect(entries.filter((e) => e.kind === "outbox-cancel").map((e) => e.data)).toEqual([
        { envelope: cancel?.[1], recipient: "XB", agreement: "pilot-exchange", reason: "sunset" },
      ]);
      // Runs again over its own directory, and refuses a directory it did not make.
      expect(accord(["demo", "--once", "--data-dir", dir, "--base-port", "0"]).code).toBe(0);
      const foreign = makeTempDir("accord-foreign-");
      writeFileSync(join(foreign, "precious.txt"), "keep me");
      const refused = accord(["demo", "--once", "--data-dir", foreign, "--base-port", "0"]);
      expect(refused.code).toBe(3);
      expect(existsSync(join(foreign, "precious.txt"))).toBe(true);
      removeDir(foreign);
    } finally {
      removeDir(join(dir, ".."));
    }
  }, 300_000); // three demo runs, each starting four node servers
});
