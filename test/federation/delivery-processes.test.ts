/**
 * Never lose a delivery, with real node processes (the built CLI, `node dist/cli/main.js node
 * start`), real HTTP and real SQLite files:
 *
 * - a partner that is down gets everything when it comes back, exactly once as seen by its store;
 * - the same across an hour: both nodes' wall clocks are moved an hour on while the partner is
 *   down (Debian's libfaketime, preloaded into both node processes, reading one offset file), so
 *   the sender's retries, the envelopes sealed an hour before delivery, the request signatures and
 *   the receipts all meet an hour-long outage as they would in the field;
 * - a sender SIGKILLed in the middle of a delivery run resumes after a restart, and the recipient
 *   ends with every object and every envelope exactly once.
 *
 * "Exactly once" is counted on the recipient's own database: object rows, inbox rows (one per
 * envelope id) and `accept` log entries. `npm test` builds dist/ first (pretest).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticBundle } from "../../bench/synthetic.js";
import { EXAMPLES, freePort, makeTempDir, removeDir } from "../support/nodes.js";

const BIN = new URL("../../dist/cli/main.js", import.meta.url).pathname;

/**
 * Debian's libfaketime (package `faketime`, which .ci/run installs). Preloaded into the node
 * processes, it adds the offset written in one file to their wall clock (re-read every second);
 * their monotonic clock, which drives timers, is left alone.
 */
const FAKETIME = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"].find((p) => existsSync(p));

function accord(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 90_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Counts on a node's SQLite file, read while the node runs (WAL allows one more reader). */
function counts(dir: string): { objects: number; inbox: number; accepts: number; ids: number } {
  const db = new Database(join(dir, "data", "accord.db"), { readonly: true, fileMustExist: true });
  try {
    const one = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    return {
      objects: one("SELECT count(*) AS n FROM objects"),
      inbox: one("SELECT count(*) AS n FROM inbox"),
      ids: one("SELECT count(DISTINCT envelope_id) AS n FROM inbox"),
      accepts: one(
        "SELECT count(*) AS n FROM log_entries WHERE json_extract(entry, '$.kind') = 'accept'",
      ),
    };
  } finally {
    db.close();
  }
}

function outbox(dir: string): { status: string; n: number }[] {
  const db = new Database(join(dir, "data", "accord.db"), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare("SELECT status, count(*) AS n FROM outbox GROUP BY status ORDER BY status")
      .all() as { status: string; n: number }[];
  } finally {
    db.close();
  }
}

describe("never lose a delivery (real processes)", () => {
  let tmp: string;
  const procs = new Set<ChildProcess>();
  const nodes: Record<string, { dir: string; port: number; url: string; proc?: ChildProcess }> = {};
  /** The offset libfaketime adds to both nodes' wall clocks ("+0" until the hour-long outage). */
  let clockOffsetFile = "";

  const startNode = async (id: string): Promise<void> => {
    const n = nodes[id]!;
    const p = spawn(process.execPath, [BIN, "node", "start", "--dir", n.dir], {
      stdio: ["ignore", "ignore", "ignore"],
      env:
        FAKETIME === undefined
          ? process.env
          : {
              ...process.env,
              LD_PRELOAD: FAKETIME,
              FAKETIME_TIMESTAMP_FILE: clockOffsetFile,
              FAKETIME_CACHE_DURATION: "1",
              FAKETIME_DONT_FAKE_MONOTONIC: "1",
            },
    });
    procs.add(p);
    p.once("exit", () => procs.delete(p));
    n.proc = p;
    for (let i = 0; i < 300; i++) {
      try {
        if ((await fetch(`${n.url}/healthz`)).ok) return;
      } catch {
        /* not up yet */
      }
      await sleep(50);
    }
    throw new Error(`${id} did not come up`);
  };
  const stopNode = async (id: string, signal: NodeJS.Signals): Promise<void> => {
    const p = nodes[id]!.proc;
    if (p?.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    await exited;
  };

  beforeAll(async () => {
    if (!existsSync(BIN))
      throw new Error("dist/cli/main.js is missing: run `npm run build` (npm test does it first)");
    tmp = makeTempDir("accord-delivery-");
    clockOffsetFile = join(tmp, "clock-offset");
    writeFileSync(clockOffsetFile, "+0\n");
    const fps: Record<string, string> = {};
    for (const id of ["XA", "XB"]) {
      const port = await freePort();
      const dir = join(tmp, id.toLowerCase());
      nodes[id] = { dir, port, url: `http://127.0.0.1:${port}` };
      const r = accord(["init", "--node-id", id, "--dir", dir, "--port", String(port), "--json"]);
      expect(r.code, r.err).toBe(0);
      fps[id] = (JSON.parse(r.out) as { fingerprint: string }).fingerprint;
      // Retry quickly: the loop runs every 200 ms (backoff still doubles from 1 s).
      const cfgPath = join(dir, "accord.yaml");
      const cfg = parse(readFileSync(cfgPath, "utf8")) as Record<string, unknown>;
      writeFileSync(
        cfgPath,
        stringify({ ...cfg, delivery: { interval_ms: 200 }, log: { level: "silent" } }),
      );
      // The regional accord between the two parties that run here (in force once both sign).
      const doc = parse(
        readFileSync(join(EXAMPLES, "agreements", "regional-cyber-accord.yaml"), "utf8"),
      ) as { agreement: string; parties: { node: string }[] };
      doc.agreement = "delivery-test";
      doc.parties = doc.parties.filter((p) => p.node !== "XC");
      writeFileSync(join(dir, "agreements", "delivery-test.yaml"), stringify(doc));
    }
    await startNode("XA");
    await startNode("XB");
    for (const [me, other] of [
      ["XA", "XB"],
      ["XB", "XA"],
    ] as const) {
      const r = accord([
        "peer",
        "add",
        nodes[other]!.url,
        `--fingerprint=${fps[other]!}`,
        "--dir",
        nodes[me]!.dir,
      ]);
      expect(r.code, r.err).toBe(0);
    }
    // XA signs (4: not yet in force), then XB signs and the agreement is in force on both.
    const first = accord(["agreement", "sign", "delivery-test", "--dir", nodes.XA!.dir]);
    expect(first.code, first.err + first.out).toBe(4);
    const second = accord(["agreement", "sign", "delivery-test", "--dir", nodes.XB!.dir]);
    expect(second.code, second.err + second.out).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const p of procs) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    removeDir(tmp);
  });

  /** Ingest `n` fresh objects on XA and share them with XB through its API; returns envelopes. */
  const shareBatch = async (
    n: number,
    seed: number,
  ): Promise<{ envelopes: number; sent: number }> => {
    const token = readFileSync(join(nodes.XA!.dir, "keys", "api-token"), "utf8").trim();
    const call = async (path: string, body: unknown): Promise<any> => {
      const res = await fetch(`${nodes.XA!.url}/api/v1${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const doc: unknown = await res.json();
      expect(res.ok, JSON.stringify(doc).slice(0, 500)).toBe(true);
      return doc;
    };
    const bundle = syntheticBundle(n, seed);
    await call("/bundles", bundle);
    const { outcomes } = (await call("/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      objects: (bundle.objects as { id: string }[]).map((o) => o.id),
    })) as { outcomes: { sent: number; envelopes: string[] }[] };
    return { envelopes: outcomes[0]!.envelopes.length, sent: outcomes[0]!.sent };
  };

  it("a partner that is down gets everything when it returns, exactly once", async () => {
    const before = counts(nodes.XB!.dir);
    await stopNode("XB", "SIGTERM");
    let envelopes = 0;
    let sent = 0;
    for (let i = 0; i < 4; i++) {
      const b = await shareBatch(50, 1000 + i);
      envelopes += b.envelopes;
      sent += b.sent;
    }
    expect(sent).toBe(200);
    // XA keeps them, pending, with failed attempts recorded.
    expect(outbox(nodes.XA!.dir)).toEqual([{ status: "pending", n: envelopes }]);
    const list = JSON.parse(
      accord(["outbox", "list", "pending", "--dir", nodes.XA!.dir, "--json"]).out,
    ) as {
      items: { attempts: number; lastError: string | null }[];
    };
    expect(list.items).toHaveLength(envelopes);
    expect(list.items.every((i) => i.attempts >= 1 && i.lastError === "ERR_PEER_UNAVAILABLE")).toBe(
      true,
    );
    const human = accord(["outbox", "--dir", nodes.XA!.dir]).out;
    expect(human).toContain("ATTEMPTS");
    expect(human).toContain("last error ERR_PEER_UNAVAILABLE");

    await sleep(2500); // down for a while: several retries back off
    await startNode("XB");
    await until("XA's outbox to drain", () =>
      outbox(nodes.XA!.dir).every((r) => r.status === "delivered") ? true : undefined,
    );
    const after = counts(nodes.XB!.dir);
    expect(after.objects - before.objects).toBe(200);
    expect(after.inbox - before.inbox).toBe(envelopes);
    expect(after.ids).toBe(after.inbox);
    expect(after.accepts - before.accepts).toBe(envelopes);
  }, 180_000);

  it("a sender SIGKILLed mid-delivery resumes after restart: nothing lost, nothing twice", async () => {
    const before = counts(nodes.XB!.dir);
    await stopNode("XB", "SIGTERM");
    const batches = 10;
    let envelopes = 0;
    for (let i = 0; i < batches; i++) envelopes += (await shareBatch(400, 2000 + i)).envelopes;
    expect(outbox(nodes.XA!.dir).find((r) => r.status === "pending")?.n).toBe(envelopes);

    await startNode("XB");
    // Kill XA as soon as XB has taken some but not all of the envelopes.
    const seenAtKill = await until(
      "XB to receive the first envelopes",
      () => {
        const c = counts(nodes.XB!.dir);
        return c.inbox - before.inbox >= 1 ? c.inbox - before.inbox : undefined;
      },
      120_000,
    );
    await stopNode("XA", "SIGKILL");
    const atKill = counts(nodes.XB!.dir).inbox - before.inbox;
    expect(seenAtKill).toBeGreaterThanOrEqual(1);
    expect(atKill, "the kill came in the middle of the run").toBeLessThan(envelopes);
    const pendingAtKill = outbox(nodes.XA!.dir).find((r) => r.status === "pending")?.n ?? 0;
    expect(pendingAtKill).toBeGreaterThan(0);

    await startNode("XA");
    await until("XA's outbox to drain after the restart", () =>
      outbox(nodes.XA!.dir).every((r) => r.status === "delivered") ? true : undefined,
    );
    const after = counts(nodes.XB!.dir);
    expect(after.objects - before.objects).toBe(batches * 400);
    expect(after.inbox - before.inbox).toBe(envelopes);
    expect(after.ids).toBe(after.inbox);
    expect(after.accepts - before.accepts).toBe(envelopes);
    // The sender logged one receipt per envelope, however many times it was sent.
    const db = new Database(join(nodes.XA!.dir, "data", "accord.db"), { readonly: true });
    try {
      const receipts = db
        .prepare(
          "SELECT json_extract(entry, '$.data.envelope') AS e, count(*) AS n FROM log_entries WHERE json_extract(entry, '$.kind') = 'receipt' GROUP BY e HAVING n > 1",
        )
        .all();
      expect(receipts).toEqual([]);
    } finally {
      db.close();
    }
  }, 240_000);
  it.skipIf(FAKETIME === undefined)(
    // Skipped only where Debian's faketime package is missing (CI installs it); the first test
    // above covers a shorter outage everywhere.
    "a partner down for an hour of both nodes' clocks gets everything when it returns, exactly once",
    async () => {
      const before = counts(nodes.XB!.dir);
      await stopNode("XB", "SIGTERM");
      let envelopes = 0;
      for (let i = 0; i < 2; i++) envelopes += (await shareBatch(50, 3000 + i)).envelopes;
      await until("XA's first failed attempts", () =>
        outbox(nodes.XA!.dir).find((r) => r.status === "pending")?.n === envelopes
          ? true
          : undefined,
      );

      // An hour passes on both nodes' clocks while XB is down; XA keeps retrying through it.
      writeFileSync(clockOffsetFile, "+1h\n");
      const hourOn = Date.now() + 3_540_000;
      await until("XA to retry after the hour", () => {
        const db = new Database(join(nodes.XA!.dir, "data", "accord.db"), { readonly: true });
        try {
          const late = db
            .prepare(
              "SELECT count(*) AS n FROM outbox WHERE status = 'pending' AND attempts >= 2 AND next_attempt_at > ?",
            )
            .get(new Date(hourOn).toISOString()) as { n: number };
          return late.n === envelopes ? true : undefined;
        } finally {
          db.close();
        }
      });

      await startNode("XB");
      await until("XA's outbox to drain", () =>
        outbox(nodes.XA!.dir).every((r) => r.status === "delivered") ? true : undefined,
      );
      const after = counts(nodes.XB!.dir);
      expect(after.objects - before.objects).toBe(100);
      expect(after.inbox - before.inbox).toBe(envelopes);
      expect(after.ids).toBe(after.inbox);
      expect(after.accepts - before.accepts).toBe(envelopes);
      // Both clocks really were an hour on: XB stored and XA logged the receipts then.
      const db = new Database(join(nodes.XB!.dir, "data", "accord.db"), { readonly: true });
      try {
        const { at } = db.prepare("SELECT max(received_at) AS at FROM inbox").get() as {
          at: string;
        };
        expect(Date.parse(at)).toBeGreaterThan(hourOn);
      } finally {
        db.close();
      }
    },
    180_000,
  );
});
