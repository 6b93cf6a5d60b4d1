/**
 * Storage contract for the node's Merkle log (migration 2, spec/log.md "Storage"): the LedgerRepo
 * port over RFC 9162 hashing and C2SP tiles, checked against the pure reference in src/tlog
 * (MemoryTree, merkleTreeHash), plus tampering with the tables directly (`sql` runs raw SQL on the
 * same database): every edit, deletion, reordering and truncation is caught by `verifyStoredLog`,
 * which names the first bad index. Every adapter runs exactly these tests: see
 * test/storage/{sqlite,postgres}.test.ts.
 */
import { generateKeyPairSync } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import {
  currentCheckpoint,
  logHead,
  logOrigin,
  logRootAt,
  logSigner,
  logVerifier,
  proveConsistency,
  proveInclusion,
  verifyStoredLog,
} from "../../src/app/log.js";
import type { Store } from "../../src/app/ports.js";
import { decodeLogEntry, encodeLogEntry } from "../../src/core/log-entry.js";
import { canonicalize } from "../../src/crypto/jcs.js";
import { AccordError } from "../../src/errors.js";
import { LOG_KINDS } from "../../src/core/log-kinds.js";
import { kindVectors, testEntry } from "../support/log-entries.js";
import {
  CompactTree,
  MemoryTree,
  leafHash,
  merkleTreeHash,
  openCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from "../../src/tlog/index.js";

export interface LogHarness {
  readonly store: Store;
  /** Runs raw SQL on the store's database, outside the store (the attacker's view). */
  readonly sql: (text: string) => Promise<void>;
  /** Runs a raw query on the store's database, outside the store, and returns its rows. */
  readonly rows: (text: string) => Promise<Record<string, unknown>[]>;
}

/**
 * Builds a database as a build at schema `version` left it: that build's migrations, then the
 * statements `setup` returns (`bytes` writes a byte string as an SQL literal of the adapter), and
 * opens the store on it, which applies the later migrations.
 */
export type LegacyOpen = (
  version: number,
  setup: (bytes: (b: Uint8Array) => string) => string[],
) => Promise<LogHarness>;

const T0 = "2026-05-01T00:00:00.000Z";
const entry = (i: number) =>
  testEntry(i, { at: T0, kind: i % 3 === 0 ? "ingest" : i % 3 === 1 ? "share" : "receipt" });

/** Appends entries [from, to) in transactions of `batch`. */
/** A registered sample entry's data (spec/vectors/log-kinds.json) with some members replaced. */
function sample(name: string, replace: Record<string, unknown>): Record<string, unknown> {
  const v = kindVectors.entries.find((e) => e.name === name);
  if (v === undefined) throw new Error(`no log-kinds vector named ${name}`);
  return { ...v.entry.data, ...replace };
}

async function fill(store: Store, from: number, to: number, batch: number): Promise<void> {
  for (let k = from; k < to; k += batch) {
    await store.transaction(async (tx) => {
      for (let i = k; i < Math.min(to, k + batch); i++) await tx.ledger.append(entry(i));
    });
  }
}

function reference(n: number): MemoryTree {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) t.append(leafHash(encodeLogEntry(entry(i))));
  return t;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

/** Every row's kind column holds the kind its entry text names (migration 20). */
async function expectKindColumn(harness: LogHarness, n: number): Promise<void> {
  const rows = await harness.rows("SELECT idx, entry, kind FROM log_entries ORDER BY idx");
  expect(rows.map((r) => Number(r.idx))).toEqual(Array.from({ length: n }, (_, i) => i));
  for (const r of rows) {
    const e = decodeLogEntry(String(r.entry));
    expect(e, `entry ${String(r.idx)} decodes`).toBeDefined();
    expect(r.kind, `kind column of entry ${String(r.idx)}`).toBe(e?.kind);
  }
}

export function describeLogConformance(
  name: string,
  open: () => Promise<LogHarness>,
  cleanup: () => Promise<void>,
  legacy: LegacyOpen,
): void {
  describe(`${name}: Merkle log (migration 2)`, () => {
    const opened: LogHarness[] = [];
    const fresh = async (): Promise<LogHarness> => {
      const h = await open();
      opened.push(h);
      return h;
    };
    afterEach(async () => {
      for (const h of opened.splice(0)) await h.store.close();
      await cleanup();
    });

    it("stores every tile hash and root the reference tree has, across tile boundaries", async () => {
      const { store } = await fresh();
      // 600 entries: two full level-0 tiles and a partial one; batches that straddle tiles.
      await fill(store, 0, 600, 97);
      const ref = reference(600);
      expect(await store.ledger.size()).toBe(600);
      expect(hex((await logHead(store.ledger)).rootHash)).toBe(hex(ref.root()));
      for (const t of [0, 1, 2]) {
        const tile = await store.ledger.tile(0, t);
        const width = Math.min(256, 600 - t * 256);
        expect(tile.length, `tile 0/${t}`).toBe(width * 32);
        for (const j of [0, width - 1]) {
          expect(hex(tile.subarray(j * 32, j * 32 + 32))).toBe(hex(ref.node(0, t * 256 + j)));
        }
      }
      // Level 1 holds the roots of the two full level-0 tiles.
      const tile1 = await store.ledger.tile(1, 0);
      expect(tile1.length).toBe(2 * 32);
      expect(hex(tile1.subarray(32, 64))).toBe(hex(ref.node(8, 1)));
      expect((await store.ledger.tile(0, 3)).length).toBe(0);
      // Past roots from tiles alone.
      for (const m of [1, 2, 3, 255, 256, 257, 511, 512, 599, 600]) {
        const leaves = Array.from({ length: m }, (_, i) => ref.node(0, i));
        expect(hex(await logRootAt(store.ledger, m)), `root at ${m}`).toBe(
          hex(merkleTreeHash(leaves)),
        );
      }
      expect((await verifyStoredLog(store.ledger)).ok).toBe(true);
    });

    it("serves inclusion and consistency proofs from tiles that verify against the roots", async () => {
      const { store } = await fresh();
      await fill(store, 0, 530, 530);
      const ref = reference(530);
      for (const n of [1, 7, 256, 300, 530]) {
        const root = merkleTreeHash(Array.from({ length: n }, (_, i) => ref.node(0, i)));
        for (const i of [0, Math.floor(n / 2), n - 1]) {
          const p = await proveInclusion(store.ledger, i, n);
          expect(verifyInclusion(i, n, p.leafHash, p.proof, root), `${i} in ${n}`).toBe(true);
          expect(hex(p.leafHash)).toBe(hex(leafHash(encodeLogEntry(entry(i)))));
        }
      }
      for (const [m, n] of [
        [1, 530],
        [255, 257],
        [256, 512],
        [300, 530],
        [530, 530],
      ] as const) {
        const p = await proveConsistency(store.ledger, m, n);
        expect(
          verifyConsistency(
            m,
            n,
            await logRootAt(store.ledger, m),
            await logRootAt(store.ledger, n),
            p.proof,
          ),
          `${m} -> ${n}`,
        ).toBe(true);
      }
      await expect(proveInclusion(store.ledger, 530)).rejects.toMatchObject({
        code: "ERR_MALFORMED_INPUT",
      });
      await expect(proveConsistency(store.ledger, 0, 10)).rejects.toMatchObject({
        code: "ERR_MALFORMED_INPUT",
      });
    });

    it("gives a transaction's appends their indexes at once and integrates them at commit", async () => {
      const { store } = await fresh();
      await fill(store, 0, 3, 3);
      const seqs = await store.transaction(async (tx) => {
        const a = await tx.ledger.append(entry(3));
        const b = await tx.ledger.append(entry(4));
        return [a.seq, b.seq, await tx.ledger.size()];
      });
      expect(seqs).toEqual([3, 4, 5]);
      const state = await store.ledger.state();
      expect(state.size).toBe(5);
      expect(state.frontier.length).toBe(2); // 5 = 4 + 1
      expect((await verifyStoredLog(store.ledger)).ok).toBe(true);
    });

    it("leaves entries, tiles and tree untouched when a transaction rolls back", async () => {
      const { store } = await fresh();
      await fill(store, 0, 10, 10);
      const before = await store.ledger.state();
      const tile = await store.ledger.tile(0, 0);
      await expect(
        store.transaction(async (tx) => {
          await tx.ledger.append(entry(10));
          await tx.ledger.append(entry(11));
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect(await store.ledger.state()).toStrictEqual(before);
      expect(hex(await store.ledger.tile(0, 0))).toBe(hex(tile));
      expect((await store.ledger.entries(0, 100)).length).toBe(10);
      await fill(store, 10, 12, 2);
      expect((await verifyStoredLog(store.ledger)).ok).toBe(true);
    });

    it("refuses an entry over 65535 bytes or of a malformed kind and writes nothing", async () => {
      const { store } = await fresh();
      const big = {
        action: "share",
        object: "indicator--1",
        version: "",
        partner: "XB",
        purpose: "testing",
        effect: "deny",
        agreement: null,
        clauses: ["default"],
        dropped: Array.from({ length: 300 }, () => "x".repeat(250)),
      };
      await expect(
        store.ledger.append({ kind: "decision", at: T0, data: big }),
      ).rejects.toBeInstanceOf(AccordError);
      await expect(
        store.ledger.append({ kind: "Bad Kind", at: T0, data: {} }),
      ).rejects.toMatchObject({ code: "ERR_MALFORMED_INPUT" });
      expect(await store.ledger.size()).toBe(0);
      expect(await store.ledger.entries(0, 10)).toEqual([]);
    });

    it("appends a sample of every registered kind, reproducing the vectors' leaf hashes", async () => {
      const { store } = await fresh();
      const samples = kindVectors.entries;
      await store.transaction(async (tx) => {
        for (const v of samples) await tx.ledger.append(v.entry);
      });
      const stored = await store.ledger.list(0, samples.length + 1);
      expect(stored.map((e) => e.leafHash)).toEqual(samples.map((v) => v.leafHash));
      expect(new Set(stored.map((e) => e.kind))).toEqual(new Set(LOG_KINDS.keys()));
    });

    it("refuses an unregistered kind or data its kind's schema refuses, naming both, and writes nothing", async () => {
      const { store } = await fresh();
      await fill(store, 0, 2, 2);
      const before = await store.ledger.state();
      const good = testEntry(5, { at: T0, kind: "share" });
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [{ ...good, kind: "shared" }, "an unknown kind", /`shared` is not registered/],
        [
          { ...good, data: { ...good.data, contents: "the IBAN" } },
          "an extra field",
          /`share` v1: data\.contents is not a field/,
        ],
        [
          { ...good, data: { ...good.data, objects: "11" } },
          "a mistyped field",
          /`share` v1: data\.objects /,
        ],
        [
          { ...good, data: { ...good.data, recipient: undefined } },
          "a missing field",
          /`share` v1: data\.recipient /,
        ],
      ];
      for (const [e, what, message] of cases) {
        await expect(
          store.transaction(async (tx) => {
            await tx.ledger.append(testEntry(6, { at: T0 }));
            await tx.ledger.append(e as never);
          }),
          what,
        ).rejects.toMatchObject({
          code: "ERR_MALFORMED_INPUT",
          message: expect.stringMatching(message),
        });
        await expect(store.ledger.append(e as never), what).rejects.toMatchObject({
          code: "ERR_MALFORMED_INPUT",
        });
      }
      expect(await store.ledger.state()).toStrictEqual(before);
      expect((await store.ledger.entries(0, 10)).length).toBe(2);
    });

    it("writes entries as RFC 8785 canonical JSON that reproduces the leaf hash", async () => {
      const { store } = await fresh();
      const data = { reason: "fork", partner: "XB", previous: 'é\u2028"\\\n', offered: "" };
      const e = await store.ledger.append({ kind: "witness-alarm", at: T0, data });
      const [row] = await store.ledger.entries(0, 1);
      const text = Buffer.from(row!.bytes).toString("utf8");
      expect(text).toBe(canonicalize({ at: T0, data, kind: "witness-alarm", v: 1 }));
      expect(e.leafHash).toBe(hex(leafHash(row!.bytes)));
    });

    it("issues signed checkpoints on demand, one per size, that open with the node's key", async () => {
      const { store } = await fresh();
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
      const signer = logSigner("XA", privateKey);
      const origin = logOrigin("XA");
      await fill(store, 0, 5, 5);
      const c1 = await currentCheckpoint(store.ledger, signer, origin, T0);
      expect(await currentCheckpoint(store.ledger, signer, origin, T0)).toStrictEqual(c1);
      await fill(store, 5, 9, 4);
      const c2 = await currentCheckpoint(store.ledger, signer, origin, T0);
      expect([c1.size, c2.size]).toEqual([5, 9]);
      const opened = openCheckpoint(c2.note, { origin, log: logVerifier("XA", raw) });
      expect(hex(opened.checkpoint.rootHash)).toBe(hex((await logHead(store.ledger)).rootHash));
      expect((await store.ledger.checkpoints(0, 10)).map((c) => c.size)).toEqual([5, 9]);
      expect((await store.ledger.latestCheckpoint())?.size).toBe(9);
      const v = await verifyStoredLog(store.ledger, { origin, verifier: logVerifier("XA", raw) });
      expect(v).toMatchObject({ ok: true, checkpoints: 2, signaturesChecked: true, entries: 9 });
      // A checkpoint signed by another key is named as the problem.
      const other = generateKeyPairSync("ed25519");
      const otherRaw = new Uint8Array(
        Buffer.from(other.publicKey.export({ format: "jwk" }).x!, "base64url"),
      );
      const bad = await verifyStoredLog(store.ledger, {
        origin,
        verifier: logVerifier("XA", otherRaw),
      });
      expect(bad.ok).toBe(false);
      expect(bad.problem).toMatch(/checkpoint 1/);
    });

    it("finds entries by kind through its index, ascending or newest first (migration 14)", async () => {
      const { store } = await fresh();
      await fill(store, 0, 40, 7);
      const seqs = (es: { seq: number; kind: string }[]) => es.map((e) => e.seq);
      const shares = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 1);
      const got = await store.ledger.ofKind("share", { limit: 100 });
      expect(seqs(got)).toEqual(shares);
      expect(got.every((e) => e.kind === "share")).toBe(true);
      expect(got[2]).toStrictEqual((await store.ledger.list(7, 1))[0]);
      expect(seqs(await store.ledger.ofKind("share", { from: 10, limit: 3 }))).toEqual([
        10, 13, 16,
      ]);
      expect(seqs(await store.ledger.ofKind("share", { limit: 2, newestFirst: true }))).toEqual([
        37, 34,
      ]);
      expect(
        seqs(await store.ledger.ofKind("share", { from: 33, limit: 2, newestFirst: true })),
      ).toEqual([31, 28]);
      expect(await store.ledger.ofKind("witness-alarm", { limit: 10 })).toEqual([]);
      // A kind named inside `data` is not the entry's kind.
      await store.ledger.append({
        kind: "decision",
        at: T0,
        data: sample("decision query", { kind: "witness-alarm" }),
      });
      expect(await store.ledger.ofKind("witness-alarm", { limit: 10 })).toEqual([]);
      // Entries queued in a transaction are found by it once integrated, and never if rolled back.
      await store.transaction(async (tx) => {
        await tx.ledger.append({
          kind: "witness-alarm",
          at: T0,
          data: sample("witness-alarm", { reason: "shrunk" }),
        });
        expect(seqs(await tx.ledger.ofKind("witness-alarm", { limit: 10 }))).toEqual([41]);
      });
      await expect(
        store.transaction(async (tx) => {
          await tx.ledger.append({
            kind: "witness-alarm",
            at: T0,
            data: sample("witness-alarm", { reason: "proof" }),
          });
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      expect(seqs(await store.ledger.ofKind("witness-alarm", { limit: 10 }))).toEqual([41]);
    });

    it("writes each entry's kind to its kind column, and refuses a row whose column disagrees (migration 20)", async () => {
      const h = await fresh();
      await fill(h.store, 0, 40, 7);
      await h.store.ledger.append({
        kind: "decision",
        at: T0,
        data: sample("decision query", { kind: "witness-alarm" }),
      });
      await expectKindColumn(h, 41);
      // An edited kind column: the entry it now finds says otherwise, which is damage.
      await h.sql("UPDATE log_entries SET kind = 'share' WHERE idx = 3");
      await expect(h.store.ledger.ofKind("share", { limit: 100 })).rejects.toThrow(
        /log entry 3 is damaged: its kind column says `share`, its text `ingest`/,
      );
    });

    it("fills the kind column of rows a build at migration 19 wrote, from their text (migration 20)", async () => {
      const written = [
        ...Array.from({ length: 40 }, (_, i) => entry(i)),
        { kind: "decision", at: T0, data: sample("decision query", { kind: "witness-alarm" }) },
      ];
      // The rows, tile and state exactly as the log at migration 19 stored them.
      const h = await legacy(19, (bytes) => {
        const tree = new CompactTree();
        const leaves: Uint8Array[] = [];
        const statements = written.map((e, i) => {
          const b = encodeLogEntry(e);
          const leaf = leafHash(b);
          leaves.push(leaf);
          tree.append(leaf);
          const text = Buffer.from(b).toString("utf8").replaceAll("'", "''");
          return `INSERT INTO log_entries (idx, entry, leaf_hash) VALUES (${String(i)}, '${text}', ${bytes(leaf)})`;
        });
        return [
          ...statements,
          `INSERT INTO log_tiles (level, idx, hashes) VALUES (0, 0, ${bytes(Buffer.concat(leaves))})`,
          `UPDATE log_state SET size = ${String(tree.size)}, frontier = ${bytes(Buffer.concat(tree.frontier()))}`,
        ];
      });
      opened.push(h);
      const { store } = h;
      expect((await verifyStoredLog(store.ledger)).ok, "the old log is intact").toBe(true);
      await expectKindColumn(h, 41);
      const seqs = (es: { seq: number }[]) => es.map((e) => e.seq);
      const shares = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 1);
      expect(seqs(await store.ledger.ofKind("share", { limit: 100 }))).toEqual(shares);
      expect(seqs(await store.ledger.ofKind("decision", { limit: 100 }))).toEqual([40]);
      expect(await store.ledger.ofKind("witness-alarm", { limit: 10 })).toEqual([]);
      // Appends after the migration write the column and extend the same tree.
      await fill(store, 41, 50, 4);
      await expectKindColumn(h, 50);
      expect((await verifyStoredLog(store.ledger)).ok).toBe(true);
    });

    it("stores witnesses' cosignatures per checkpoint, keeping the latest time (migration 14)", async () => {
      const { store } = await fresh();
      const c = (size: number, witness: string, keyId: number, timestamp: number) => ({
        size,
        witness,
        keyId,
        timestamp,
        line: `\u2014 ${witness} ${String(size)}-${String(timestamp)}`,
        receivedAt: T0,
      });
      expect(await store.ledger.cosignatures(5)).toEqual([]);
      expect(await store.ledger.latestCosignatures()).toEqual([]);
      await store.ledger.putCosignature(c(5, "accord.witness/XB", 7, 100));
      await store.ledger.putCosignature(c(5, "accord.witness/XA", 4294967295, 90));
      await store.ledger.putCosignature(c(9, "accord.witness/XB", 7, 110));
      await store.ledger.putCosignature(c(5, "oversight.example", 1, 95));
      // An older cosignature of the same checkpoint by the same key does not replace a newer one.
      await store.ledger.putCosignature(c(5, "accord.witness/XB", 7, 99));
      await store.ledger.putCosignature(c(5, "accord.witness/XA", 4294967295, 91));
      expect(await store.ledger.cosignatures(5)).toStrictEqual([
        c(5, "accord.witness/XA", 4294967295, 91),
        c(5, "accord.witness/XB", 7, 100),
        c(5, "oversight.example", 1, 95),
      ]);
      expect(await store.ledger.latestCosignatures()).toStrictEqual([
        c(5, "accord.witness/XA", 4294967295, 91),
        c(9, "accord.witness/XB", 7, 110),
        c(5, "oversight.example", 1, 95),
      ]);
      // Inside a transaction that rolls back, nothing is kept.
      await expect(
        store.transaction(async (tx) => {
          await tx.ledger.putCosignature(c(12, "oversight.example", 1, 120));
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      expect(await store.ledger.cosignatures(12)).toEqual([]);
    });

    describe("tampering with the tables directly is detected, naming the first bad index", () => {
      const N = 600;
      const tampered = async (
        edit: string[],
        withCheckpoint = false,
      ): Promise<Awaited<ReturnType<typeof verifyStoredLog>>> => {
        const { store, sql } = await fresh();
        await fill(store, 0, N, 200);
        const { privateKey, publicKey } = generateKeyPairSync("ed25519");
        const raw = new Uint8Array(
          Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"),
        );
        if (withCheckpoint) {
          await currentCheckpoint(store.ledger, logSigner("XA", privateKey), logOrigin("XA"), T0);
        }
        expect((await verifyStoredLog(store.ledger)).ok, "intact before the edit").toBe(true);
        for (const s of edit) await sql(s);
        return verifyStoredLog(store.ledger, {
          origin: logOrigin("XA"),
          verifier: logVerifier("XA", raw),
        });
      };

      it("an entry's content changed", async () => {
        const v = await tampered([
          `UPDATE log_entries SET entry = replace(entry, '"objects":300', '"objects":301') WHERE idx = 300`,
        ]);
        expect(v).toMatchObject({ ok: false, firstBad: 300 });
      });

      it("an entry's content and its stored leaf hash changed together", async () => {
        const v = await tampered([
          `UPDATE log_entries SET entry = replace(entry, '"kind":"ingest"', '"kind":"share"'),
             leaf_hash = (SELECT leaf_hash FROM log_entries WHERE idx = 1) WHERE idx = 3`,
        ]);
        expect(v).toMatchObject({ ok: false, firstBad: 3 });
      });

      it("a row deleted", async () => {
        const v = await tampered(["DELETE FROM log_entries WHERE idx = 42"]);
        expect(v).toMatchObject({ ok: false, firstBad: 42 });
        expect(v.problem).toMatch(/missing/);
      });

      it("two rows reordered", async () => {
        const v = await tampered([
          "UPDATE log_entries SET idx = 1000000 WHERE idx = 7",
          "UPDATE log_entries SET idx = 7 WHERE idx = 8",
          "UPDATE log_entries SET idx = 8 WHERE idx = 1000000",
        ]);
        expect(v).toMatchObject({ ok: false, firstBad: 7 });
      });

      it("the log truncated (tail rows deleted)", async () => {
        const v = await tampered(["DELETE FROM log_entries WHERE idx >= 550"]);
        expect(v).toMatchObject({ ok: false, firstBad: 550 });
      });

      it("the log truncated with its state rolled back too, against a signed checkpoint", async () => {
        const v = await tampered(
          [
            "DELETE FROM log_entries WHERE idx >= 512",
            "DELETE FROM log_tiles WHERE level = 0 AND idx = 2",
            "UPDATE log_state SET size = 512",
          ],
          true,
        );
        expect(v).toMatchObject({ ok: false, firstBad: 512 });
        expect(v.problem).toMatch(/truncated/);
      });

      it("a tile rewritten", async () => {
        const v = await tampered([
          `UPDATE log_tiles SET hashes = (SELECT hashes FROM log_tiles WHERE level = 0 AND idx = 1)
           WHERE level = 0 AND idx = 0`,
        ]);
        expect(v).toMatchObject({ ok: false, firstBad: 0 });
      });

      it("a level-1 tile rewritten while the entries and level-0 tiles are intact", async () => {
        const v = await tampered([
          `UPDATE log_tiles SET hashes = (SELECT hashes FROM log_tiles WHERE level = 0 AND idx = 2)
           WHERE level = 1 AND idx = 0`,
        ]);
        expect(v.ok).toBe(false);
        expect(v.firstBad).toBe(0);
        expect(v.problem).toMatch(/tile 1\/0/);
      });

      it("a checkpoint note altered", async () => {
        const v = await tampered(
          ["UPDATE log_checkpoints SET note = replace(note, '\n600\n', '\n599\n')"],
          true,
        );
        expect(v.ok).toBe(false);
        expect(v.problem).toMatch(/checkpoint 1/);
      });
    });
  });
}
