/**
 * Witnessing between two real nodes over HTTP (spec/log.md, "Witnesses"): XA fetches XB's signed
 * checkpoint through signed peer requests, checks consistency with the last one it saw, cosigns
 * (C2SP tlog-cosignature) and logs it; when XB's log is rewritten, XA refuses the new checkpoint,
 * logs the evidence and lists it for oversight.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logOrigin, logVerifier } from "../../src/app/log.js";
import { witnessName } from "../../src/app/witness.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { generateNodeKeys, jwkThumbprint } from "../../src/crypto/keys.js";
import { ed25519CosignatureVerifier, openCheckpoint } from "../../src/tlog/index.js";
import { api, startNodes, type TestNodes } from "../support/nodes.js";
import { testEntry } from "../support/log-entries.js";
import { signingKeyOf } from "../support/node-keys.js";

const T = "2026-05-01T00:00:00.000Z";

describe("witnessing a partner's log", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }]);
    ({ XA: xa, XB: xb } = nodes.nodes);
  }, 60_000);

  afterAll(() => nodes.stop());

  it("cosigns a consistent checkpoint, logs it, and refuses a rewritten log with evidence", async () => {
    const first = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ partner: "XB", consistent: true, previousSize: 0 });
    const opened = openCheckpoint(first.body.cosigned, {
      origin: logOrigin("XB"),
      log: logVerifier("XB", signingKeyOf(nodes.dirs.XB.dir)),
      cosigners: [ed25519CosignatureVerifier(witnessName("XA"), signingKeyOf(nodes.dirs.XA.dir))],
    });
    expect(opened.note.verified.map((s) => s.name).sort()).toEqual(
      [logOrigin("XB"), witnessName("XA")].sort(),
    );
    const size1 = first.body.size as number;
    expect(first.body.sentBack).toBe(true);

    // XB took the cosignature back and serves its checkpoint with it (its tree has not grown).
    const served = await api(xb, "GET", "/api/v1/log/checkpoint");
    const servedOpen = openCheckpoint(served.body as string, {
      origin: logOrigin("XB"),
      log: logVerifier("XB", signingKeyOf(nodes.dirs.XB.dir)),
      cosigners: [ed25519CosignatureVerifier(witnessName("XA"), signingKeyOf(nodes.dirs.XA.dir))],
    });
    expect(servedOpen.checkpoint.size).toBe(size1);
    expect(servedOpen.note.verified.map((s) => s.name)).toContain(witnessName("XA"));
    const cosigned = await api(xb, "GET", "/api/v1/log/checkpoints/cosigned");
    expect(cosigned.body.checkpoints).toEqual([{ size: size1, note: served.body }]);

    // XB is idle: witnessing it again cosigns the same checkpoint afresh but logs nothing new.
    for (let i = 0; i < 3; i++) {
      const again = await api(xa, "POST", "/api/v1/log/witness/XB");
      expect(again.body).toMatchObject({ consistent: true, size: size1, previousSize: size1 });
    }
    expect((await xa.store.ledger.list(0, 1000)).filter((e) => e.kind === "witness").length).toBe(
      1,
    );

    // XB grows: the next checkpoint extends the first, proven by a consistency proof.
    for (let i = 0; i < 5; i++) {
      await xb.store.ledger.append(testEntry(i, { at: T }));
    }
    const second = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(second.body).toMatchObject({
      consistent: true,
      previousSize: size1,
      size: size1 + 5,
      sentBack: true,
    });
    // Each witness's latest cosigned checkpoint: XA's is now the second.
    const latest = await api(xb, "GET", "/api/v1/log/checkpoints/cosigned");
    expect(latest.body.checkpoints.map((c: { size: number }) => c.size)).toEqual([size1 + 5]);
    const logged = (await xa.store.ledger.list(0, 1000)).filter((e) => e.kind === "witness");
    expect(logged.map((e) => e.data.size)).toEqual([size1, size1 + 5]);

    // XB rewrites its history: the log is emptied and refilled with other entries, larger.
    const db = new Database(join(nodes.dirs.XB.dir, "accord.db"));
    try {
      db.exec(
        "DELETE FROM log_entries; DELETE FROM log_tiles; DELETE FROM log_checkpoints; UPDATE log_state SET size = 0, frontier = x''",
      );
    } finally {
      db.close();
    }
    for (let i = 0; i < size1 + 9; i++) {
      await xb.store.ledger.append(testEntry(i, { at: T, tag: "other" }));
    }
    const third = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(third.status).toBe(200);
    expect(third.body).toMatchObject({
      consistent: false,
      reason: "proof",
      previousSize: size1 + 5,
    });
    const alarms = await api(xa, "GET", "/api/v1/log/witness/alarms");
    expect(alarms.body.alarms).toHaveLength(1);
    expect(alarms.body.alarms[0]).toMatchObject({ partner: "XB", reason: "proof" });
    expect(alarms.body.alarms[0].previous).toContain(`\n${String(size1 + 5)}\n`);
    expect(alarms.body.alarms[0].offered).toContain(`\n${String(size1 + 9)}\n`);

    // The refused checkpoint did not become the latest seen: asking again refuses again, but the
    // same evidence (the same two checkpoints, whatever signature lines surround them) is logged
    // once, however many passes see it, and a restarted node remembers it from its log.
    for (let i = 0; i < 3; i++) {
      const again = await api(xa, "POST", "/api/v1/log/witness/XB");
      expect(again.body).toMatchObject({ consistent: false, previousSize: size1 + 5 });
    }
    expect((await api(xa, "GET", "/api/v1/log/witness/alarms")).body.alarms).toHaveLength(1);
    const repeated = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect([third.body.alarmLogged, repeated.body.alarmLogged]).toEqual([true, false]);
    await xa.stop();
    xa = await nodes.start("XA");
    const fourth = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(fourth.body).toMatchObject({
      consistent: false,
      previousSize: size1 + 5,
      alarmLogged: false,
    });
    expect((await api(xa, "GET", "/api/v1/log/witness/alarms")).body.alarms).toHaveLength(1);

    // The forked log moves on: a new checkpoint offered is new evidence, logged once more.
    await xb.store.ledger.append(testEntry(99, { at: T, tag: "other" }));
    const fifth = await api(xa, "POST", "/api/v1/log/witness/XB");
    const grown = (await xb.store.ledger.state()).size;
    expect(grown).toBeGreaterThan(size1 + 9);
    expect(fifth.body).toMatchObject({ consistent: false, size: grown, alarmLogged: true });
    const later = (await api(xa, "GET", "/api/v1/log/witness/alarms")).body.alarms;
    expect(later).toHaveLength(2);
    expect(later[1].offered).toContain(`\n${String(grown)}\n`);
    expect((await api(xa, "POST", "/api/v1/log/witness/XZ")).status).toBe(403);
  });

  it("logs a partner's key history: added, refreshed, and a changed key with the previous one", async () => {
    const events = async () =>
      (await xa.store.ledger.list(0, 1000))
        .filter((e) => e.kind === "key-event" && e.data.node === "XB")
        .map((e) => e.data);
    expect((await events()).map((d) => d.event)).toEqual(["peer-added"]);
    await xa.node.addPeer(xb.url, xb.node.fingerprint());
    expect((await events()).map((d) => d.event)).toEqual(["peer-added", "peer-refreshed"]);
    // XA held another key for XB (as before a rotation): re-learning XB records the change.
    const old = generateNodeKeys();
    const peer = (await xa.store.peers.get("XB"))!;
    await xa.store.peers.upsert({ ...peer, signingKey: { ...old.signing.publicJwk } });
    await xa.node.addPeer(xb.url);
    const last = (await events()).at(-1)!;
    expect(last).toMatchObject({
      event: "peer-key-changed",
      signing: xb.node.fingerprint(),
      previousSigning: jwkThumbprint(old.signing.publicJwk),
    });
  });
});

describe("two nodes witnessing each other while idle", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xc: RunningNode;
  let xd: RunningNode;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }]);
    ({ XA: xc, XB: xd } = nodes.nodes);
  }, 60_000);

  afterAll(() => nodes.stop());

  const witnessed = async (node: RunningNode): Promise<number> =>
    (await node.store.ledger.list(0, 10_000)).filter((e) => e.kind === "witness").length;

  it("stops logging each other's witnessing, and logs again when a partner does something", async () => {
    // Each node's record of witnessing the other grows the other's log; without care each pass
    // would then log that growth, forever. After the first round, nothing more is logged.
    const echoes: unknown[] = [];
    for (let round = 0; round < 4; round++) {
      const c = await api(xc, "POST", "/api/v1/log/witness/XB");
      const d = await api(xd, "POST", "/api/v1/log/witness/XA");
      expect(c.body, JSON.stringify(c.body)).toMatchObject({ consistent: true, sentBack: true });
      expect(d.body, JSON.stringify(d.body)).toMatchObject({ consistent: true, sentBack: true });
      echoes.push(c.body.echo, d.body.echo);
    }
    expect(await witnessed(xc)).toBe(1);
    expect(await witnessed(xd)).toBe(1);
    // XB's log grew once, by its record of witnessing XA: an echo, cosigned at the size logged.
    expect(echoes[2]).toBe(true);

    // XB logs something of its own: that is witnessed and logged.
    await xd.store.ledger.append(testEntry(1, { at: T }));
    const after = await api(xc, "POST", "/api/v1/log/witness/XB");
    expect(after.body.echo).toBeUndefined();
    expect(after.body.size).toBe((await xd.store.ledger.state()).size);
    expect(await witnessed(xc)).toBe(2);
  });
});
