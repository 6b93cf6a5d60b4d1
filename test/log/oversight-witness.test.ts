/**
 * The standalone oversight witness (`accord witness`, spec/log.md "Oversight witnesses") against a
 * real node over HTTP: init prints the vkey the node is configured with (`witness.oversight`),
 * run cosigns the node's checkpoint and the node serves the cosignature; a grown log is cosigned
 * after a consistency proof; a rewritten log raises an alarm, exit 4, evidence kept, not cosigned.
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { parseVerifierKey, verifierFromKey, openCheckpoint } from "../../src/tlog/index.js";
import { runCli as cli } from "../support/cli.js";
import { testEntry } from "../support/log-entries.js";
import {
  api,
  createNodeDir,
  makeTempDir,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";

describe("accord witness (an oversight body's standalone witness)", () => {
  let root: string;
  let wdir: string;
  let xbDir: TestNodeDir;
  let xb: RunningNode;
  let witnessVkey: string;
  let logVkey: string;

  beforeAll(async () => {
    root = makeTempDir();
    wdir = join(root, "witness");
    const init = await cli(["witness", "init", "--dir", wdir, "--name", "oversight.example/w1"]);
    expect(init.code, init.err).toBe(0);
    witnessVkey = init.out.trim();
    xbDir = createNodeDir(root, { id: "XB" });
    const file = join(xbDir.dir, "accord.yaml");
    const doc = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    writeFileSync(
      file,
      stringify({ ...doc, witness: { interval_ms: 0, oversight: [witnessVkey] } }),
    );
    xb = await start(xbDir);
    logVkey = (await cli(["log", "vkey", "--dir", xbDir.dir])).out.trim();
  }, 60_000);

  afterAll(async () => {
    await xb.stop();
    removeDir(root);
  });

  it("creates a 0600 key, refuses a second init and bad input", async () => {
    expect(statSync(join(wdir, "witness-key.json")).mode & 0o777).toBe(0o600);
    expect(parseVerifierKey(witnessVkey)).toMatchObject({ name: "oversight.example/w1", type: 4 });
    expect((await cli(["witness", "init", "--dir", wdir, "--name", "x"])).code).toBe(3);
    expect(
      (await cli(["witness", "add", "--dir", wdir, "--url", xb.url, "--vkey", witnessVkey])).code,
    ).toBe(3);
    expect(
      (await cli(["witness", "add", "--dir", wdir, "--url", "nope", "--vkey", logVkey])).code,
    ).toBe(3);
  });

  it("cosigns, follows a grown log, and raises an alarm with evidence on a rewritten one", async () => {
    const added = await cli(["witness", "add", "--dir", wdir, "--url", xb.url, "--vkey", logVkey]);
    expect(added.code, added.err).toBe(0);
    const first = await cli(["witness", "run", "--dir", wdir, "--once"]);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toMatch(/accord\.log\/XB: cosigned size \d+ and sent it back/);
    const served = (await api(xb, "GET", "/api/v1/log/checkpoint")).body as string;
    const opened = openCheckpoint(served, {
      origin: "accord.log/XB",
      log: verifierFromKey(parseVerifierKey(logVkey)),
      cosigners: [verifierFromKey(parseVerifierKey(witnessVkey))],
    });
    expect(opened.note.verified.map((s) => s.name)).toContain("oversight.example/w1");
    // `accord log verify --witness` accepts it.
    const verified = await cli([
      "log",
      "verify",
      "--url",
      xb.url,
      "--token",
      xb.apiToken,
      "--witness",
      witnessVkey,
    ]);
    expect(verified.code, verified.out + verified.err).toBe(0);

    for (let i = 0; i < 3; i++) await xb.store.ledger.append(testEntry(i));
    const second = await cli(["witness", "run", "--dir", wdir, "--once"]);
    expect(second.code, second.err).toBe(0);
    const size = (await xb.store.ledger.state()).size;
    expect(second.out).toContain(`cosigned size ${String(size)}`);
    const state = () => JSON.parse(readFileSync(join(wdir, "witness-state.json"), "utf8"));
    expect(state().logs[0].latest).toContain(`\n${String(size)}\n`);

    // XB's log is wiped and refilled, larger: not consistent with what the witness cosigned.
    const db = new Database(join(xbDir.dir, "accord.db"));
    try {
      db.exec(
        "DELETE FROM log_entries; DELETE FROM log_tiles; DELETE FROM log_checkpoints; DELETE FROM log_cosignatures; UPDATE log_state SET size = 0, frontier = x''",
      );
    } finally {
      db.close();
    }
    for (let i = 0; i < size + 4; i++) await xb.store.ledger.append(testEntry(i, { tag: "other" }));
    const third = await cli(["witness", "run", "--dir", wdir, "--once"]);
    expect(third.code).toBe(4);
    expect(third.err).toMatch(/ALARM: accord\.log\/XB .* not consistent/);
    const files = readdirSync(join(wdir, "evidence"));
    expect(files).toHaveLength(1);
    const evidence = JSON.parse(readFileSync(join(wdir, "evidence", files[0]!), "utf8"));
    expect(evidence).toMatchObject({ log: "accord.log/XB", reason: "proof" });
    expect(evidence.previous).toContain(`\n${String(size)}\n`);
    expect(evidence.offered).toContain(`\n${String(size + 4)}\n`);
    expect(evidence.proof.length).toBeGreaterThan(0);
    // Not cosigned, and the state still holds the checkpoint it vouched for.
    expect(state().logs[0].latest).toContain(`\n${String(size)}\n`);
    expect(await xb.store.ledger.cosignatures(size + 4)).toEqual([]);
    expect(existsSync(join(wdir, "witness-state.json"))).toBe(true);

    // A damaged state file (the saved checkpoint no longer parses) stops the log: taking it as
    // "nothing cosigned yet" would cosign the rewritten history above.
    const file = join(wdir, "witness-state.json");
    const damaged = state();
    damaged.logs[0].latest = "not a checkpoint\n\n";
    writeFileSync(file, JSON.stringify(damaged), { mode: 0o600 });
    const fourth = await cli(["witness", "run", "--dir", wdir, "--once"]);
    expect(fourth.code).toBe(4);
    expect(fourth.err).toMatch(/ALARM: accord\.log\/XB .*is not a checkpoint of this log/);
    expect(fourth.out).not.toContain("cosigned size");
    expect(await xb.store.ledger.cosignatures(size + 4)).toEqual([]);
    expect(state().logs[0].latest).toBe("not a checkpoint\n\n");
  });
});
