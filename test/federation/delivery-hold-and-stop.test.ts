/**
 * Never lose a delivery, and never send one out of order, between real nodes over real HTTP with
 * real databases (spec/federation.md, "Outbox" and "Key rotation"):
 *
 * - a partner must know a new signing key before it sees an envelope signed with it: the delivery
 *   pass holds a recipient's envelopes while a key announcement to it is pending (in backoff
 *   after a failure), without spending their attempts or logging failures, and sends them once
 *   the announcement is delivered;
 * - stopping a node waits for the deliveries a share started, also when the share failed
 *   part-way: nothing is written to the closed store, nothing is lost, nothing logged twice.
 *
 * Each runs with the sender on SQLite and, when ACCORD_TEST_PG_URL is set, on PostgreSQL.
 */
import { Writable } from "node:stream";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { SHARE_CHUNK_OBJECTS } from "../../src/app/node.js";
import { jwkThumbprint } from "../../src/crypto/keys.js";
import { syntheticBundle } from "../../bench/synthetic.js";
import {
  PG_URL,
  api,
  demoBundle,
  freePort,
  movableClock,
  startNodes,
  type TestNodeDir,
  type TestNodes,
} from "../support/nodes.js";

const variants = [
  { name: "XA on SQLite", xaOnPostgres: false },
  ...(PG_URL === undefined ? [] : [{ name: "XA on PostgreSQL", xaOnPostgres: true }]),
];

/** A real pino logger writing to memory: what a node logged at warn and above. */
function capturedLogger(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString("utf8").split("\n"))
        if (l !== "") lines.push(JSON.parse(l) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: "warn" }, sink), lines };
}

/** What a node logs when an envelope's delivery failed or could not be recorded. */
const DELIVERY_TROUBLE = new Set([
  "delivery failed",
  "delivery not recorded",
  "delivery pass failed",
]);

const entries = async (n: RunningNode, kind: string) =>
  (await n.store.ledger.list(0, 100_000)).filter((e) => e.kind === kind);

describe.each(variants)("delivery holds and stops cleanly ($name)", ({ xaOnPostgres }) => {
  let nodes: TestNodes<"XA" | "XB"> | undefined;
  afterEach(async () => {
    await nodes?.stop();
    nodes = undefined;
  });

  it("holds a partner's envelopes while a key announcement to it is pending, and sends them once it is delivered", async () => {
    const clock = movableClock();
    const log = capturedLogger();
    nodes = await startNodes([
      { id: "XA", postgres: xaOnPostgres, options: { clock, logger: log.logger } },
      { id: "XB", port: await freePort() },
    ]);
    const xa = nodes.nodes.XA;
    expect((await api(xa, "POST", "/api/v1/bundles", demoBundle())).status).toBe(201);

    // XB is down while XA rotates: the announcement fails and waits out its backoff.
    await nodes.nodes.XB.stop();
    const rotated = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "1d" });
    expect(rotated.status).toBe(200);
    await xa.deliverNow();
    const announcement = async () =>
      (await xa.store.keys.announcements({ limit: 100 })).find((a) => a.recipient === "XB");
    expect(await announcement()).toMatchObject({ status: "pending", attempts: 1 });

    // A share meanwhile: sealed and signed with the new key, so its envelopes must wait.
    const shared = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
    });
    expect(shared.status).toBe(200);
    const ids = shared.body.outcomes[0].envelopes as string[];
    expect(ids.length).toBeGreaterThan(0);
    const items = async () =>
      Promise.all(
        ids.map(async (id) => {
          const i = await xa.store.outbox.get(id);
          return [i?.status, i?.attempts, i?.lastError];
        }),
      );
    const untouched = ids.map(() => ["pending", 0, null]);
    await xa.deliverNow();
    expect(await items(), "held while XB is down").toEqual(untouched);

    // XB is back, but the announcement is still in backoff: the envelopes still wait, and are
    // neither attempted nor counted as failed (XB would refuse the key it does not know).
    const xb = await nodes.start("XB");
    await xa.deliverNow();
    const report = await xa.node.deliverDue();
    expect(report).toMatchObject({ attempted: 0, failed: 0 });
    expect(report.held).toContain("XB");
    expect(await items(), "held while the announcement waits").toEqual(untouched);
    expect(await xb.store.objects.count()).toBe(0);

    // Once the announcement is due, one pass delivers it and then the envelopes, first time.
    clock.advance(2_000);
    await xa.deliverNow();
    expect(await announcement()).toMatchObject({ status: "delivered" });
    const pinned = await xb.store.peers.get("XA");
    expect(jwkThumbprint(pinned?.signingKey as never)).toBe(rotated.body.current);
    expect(await items()).toEqual(ids.map(() => ["delivered", 0, null]));
    expect(await xb.store.objects.count()).toBeGreaterThan(0);
    expect((await entries(xa, "receipt")).map((e) => e.data.envelope).sort()).toEqual(
      [...ids].sort(),
    );
    expect((await entries(xb, "accept")).map((e) => e.data.envelope).sort()).toEqual(
      [...ids].sort(),
    );
    // No envelope delivery was logged as failed; the announcement's own failure was.
    expect(log.lines.filter((l) => DELIVERY_TROUBLE.has(l.msg))).toEqual([]);
    expect(log.lines.some((l) => l.msg === "key announcement not delivered")).toBe(true);
  });

  it("stop waits for the deliveries of a share that failed part-way: nothing lost, nothing twice, no write after close", async () => {
    const log = capturedLogger();
    nodes = await startNodes([
      { id: "XA", postgres: xaOnPostgres, options: { logger: log.logger } },
      { id: "XB" },
    ]);
    const { XA: xa, XB: xb } = nodes.nodes;
    const n = SHARE_CHUNK_OBJECTS + 5;
    const bundle = syntheticBundle(n, 21);
    await xa.node.ingest(bundle);
    const objectIds = bundle.objects.map((o) => o.id as string);

    // A real refusal by XA's database: the second envelope this share enqueues.
    const failSecond = await failOutboxInsertAfter(nodes.dirs.XA, 0);
    // XB takes the first envelope's request but cannot answer until the test lets it: a
    // transaction of XB's own store holds it (its requests wait for the store, not the thread).
    let release = (): void => undefined;
    const held = xb.store.transaction(
      () =>
        new Promise<void>((ok) => {
          release = ok;
        }),
    );
    try {
      await expect(
        xa.node.share(
          { recipients: ["XB"], purpose: "cyber-defence", objectIds },
          { deliver: true },
        ),
      ).rejects.toMatchObject({ code: "ERR_STORAGE" });
    } finally {
      await failSecond.drop();
    }
    const [item] = await xa.store.outbox.list({ limit: 10 });
    expect(item).toMatchObject({ status: "pending", attempts: 0 });

    // The delivery of the committed chunk is in flight: stop must wait for it.
    let stopped = false;
    const stopping = xa.stop().then(() => {
      stopped = true;
    });
    try {
      await untilRefused(xa.url);
      await new Promise((ok) => setTimeout(ok, 200));
      expect(stopped, "stop returned while a delivery was in flight").toBe(false);
    } finally {
      release();
      await held;
      await stopping;
    }
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(log.lines.filter((l) => DELIVERY_TROUBLE.has(l.msg))).toEqual([]);

    // Started again: the item is delivered, its receipt logged once; XB stored each object once.
    const again = await nodes.start("XA");
    await again.deliverNow();
    expect(await again.store.outbox.get(item!.id)).toMatchObject({
      status: "delivered",
      attempts: 0,
    });
    expect((await entries(again, "receipt")).map((e) => e.data.envelope)).toEqual([item!.id]);
    expect((await entries(xb, "accept")).map((e) => e.data.envelope)).toEqual([item!.id]);
    expect(await xb.store.objects.count()).toBe(SHARE_CHUNK_OBJECTS);
    expect(log.lines.filter((l) => DELIVERY_TROUBLE.has(l.msg))).toEqual([]);
  });
});

/** Poll `url` until its server no longer answers (the node closed it). */
async function untilRefused(url: string): Promise<void> {
  for (;;) {
    try {
      await (await fetch(new URL("/healthz", url))).arrayBuffer();
    } catch {
      return;
    }
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

/**
 * Make the node's database refuse every outbox insert once it holds more than `after` items
 * beyond those it holds now: a SQLite trigger, or a PostgreSQL trigger in the node's schema.
 */
async function failOutboxInsertAfter(
  dir: TestNodeDir,
  after: number,
): Promise<{ drop(): Promise<void> }> {
  if (dir.schema === undefined) {
    const db = new Database(join(dir.dir, "accord.db"));
    const held = (db.prepare("SELECT count(*) AS n FROM outbox").get() as { n: number }).n;
    db.exec(`CREATE TRIGGER accord_test_fail_outbox BEFORE INSERT ON outbox
      WHEN (SELECT count(*) FROM outbox) > ${String(held + after)}
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    return {
      drop: () => {
        db.exec("DROP TRIGGER accord_test_fail_outbox");
        db.close();
        return Promise.resolve();
      },
    };
  }
  const s = `"${dir.schema}"`;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}.outbox`);
  const limit = Number(rows[0]?.n ?? 0) + after;
  await client.query(`CREATE FUNCTION ${s}.accord_test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (SELECT count(*) FROM ${s}.outbox) > ${String(limit)} THEN
        RAISE EXCEPTION 'injected failure';
      END IF;
      RETURN NEW;
    END $$`);
  await client.query(`CREATE TRIGGER accord_test_fail_outbox BEFORE INSERT ON ${s}.outbox
    FOR EACH ROW EXECUTE FUNCTION ${s}.accord_test_fail()`);
  return {
    async drop() {
      await client.query(`DROP TRIGGER accord_test_fail_outbox ON ${s}.outbox`);
      await client.query(`DROP FUNCTION ${s}.accord_test_fail()`);
      await client.end();
    },
  };
}
