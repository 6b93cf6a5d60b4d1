/**
 * Scheduled witnessing (spec/log.md, "Witnesses"): a running node witnesses every partner's log on
 * its `witness.interval_ms` without being asked; a partner it cannot reach is logged (partner and
 * code, no secrets) and does not stop the others from being witnessed.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/cli/config.js";
import type { RunningNode } from "../../src/cli/compose.js";
import {
  createNodeDir,
  introduce,
  makeTempDir,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";

function setWitnessInterval(dir: string, ms: number): void {
  const file = join(dir, "accord.yaml");
  const doc = parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  writeFileSync(file, stringify({ ...doc, witness: { interval_ms: ms } }));
}

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting: ${what}`);
}

describe("scheduled witnessing", () => {
  let root: string;
  let dirs: TestNodeDir[];
  let xa: RunningNode;
  let xb: RunningNode;
  const lines: string[] = [];

  beforeAll(async () => {
    root = makeTempDir();
    dirs = [createNodeDir(root, { id: "XA" }), createNodeDir(root, { id: "XB" })];
    setWitnessInterval(dirs[0]!.dir, 1000);
    setWitnessInterval(dirs[1]!.dir, 0);
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
        done();
      },
    });
    // XB first, with no partners yet; XA's schedule starts with XA.
    xb = await start(dirs[1]!);
    xa = await start(dirs[0]!, { logger: pino({ level: "warn" }, sink) });
    // XC signs the agreement on paper: a partner at an address where nothing answers.
    await introduce([xa, xb]);
  }, 60_000);

  afterAll(async () => {
    await xa.stop();
    await xb.stop();
    removeDir(root);
  });

  it("reads the interval from accord.yaml, 0 turning it off, and refuses nonsense", () => {
    expect(loadConfig(dirs[0]!.dir, {}).witnessIntervalMs).toBe(1000);
    expect(loadConfig(dirs[1]!.dir, {}).witnessIntervalMs).toBe(0);
    setWitnessInterval(dirs[1]!.dir, 5);
    expect(() => loadConfig(dirs[1]!.dir, {})).toThrow(/witness\.interval_ms/);
    setWitnessInterval(dirs[1]!.dir, 0);
  });

  it("witnesses each partner on its own, logging the unreachable one without secrets", async () => {
    await until("XA witnessed XB on its schedule", async () =>
      (await xa.store.ledger.list(0, 10_000)).some(
        (e) => e.kind === "witness" && e.data.partner === "XB",
      ),
    );
    const failed = (): Record<string, unknown>[] =>
      lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === "witnessing a partner's log failed" && l.partner === "XC");
    // (A pass that ran while `introduce` was still going may also have failed for XB.)
    await until("XA logged that XC could not be witnessed", () =>
      Promise.resolve(failed().length > 0),
    );
    expect(failed()[0]).toMatchObject({ partner: "XC", code: "ERR_PEER_UNAVAILABLE" });
    const keyFile = readFileSync(join(dirs[0]!.dir, "keys", "node-keys.json"), "utf8");
    const secrets = [xa.apiToken, ...[...keyFile.matchAll(/"d":\s*"([^"]+)"/g)].map((m) => m[1]!)];
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) for (const s of secrets) expect(l).not.toContain(s);
    // XB never witnesses (its schedule is off): nothing about XA in its log.
    expect((await xb.store.ledger.list(0, 10_000)).some((e) => e.kind === "witness")).toBe(false);
  });
});
