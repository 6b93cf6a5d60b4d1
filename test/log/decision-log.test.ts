/**
 * Decisions batched into `decisions` log entries (src/app/decision-log.ts, spec/log.md): packed
 * under the entry size limit, expanded back one record per decision in order, and each provable
 * by the inclusion of its entry in the node's real (SQLite) log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DECISIONS_KIND,
  decisionEntries,
  expandDecisions,
  type LoggedDecision,
} from "../../src/app/decision-log.js";
import { logHead, proveInclusion } from "../../src/app/log.js";
import type { Store } from "../../src/app/ports.js";
import { encodeLogEntry } from "../../src/core/log-entry.js";
import { openSqliteStore } from "../../src/storage/sqlite/index.js";
import { leafHash, verifyInclusion } from "../../src/tlog/index.js";

const AT = "2026-05-01T10:00:00.000Z";
const header = { action: "share", partner: "XB", purpose: "cyber-defence" };

function decision(i: number): LoggedDecision {
  return {
    object: `indicator--${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
    version: "2026-04-01T00:00:00.000Z",
    effect: i % 7 === 0 ? "deny" : "permit",
    agreement: i % 7 === 0 ? null : "regional-cyber-accord v1",
    clauses: ["regional-cyber-accord v1 §data.types.indicator", "§purposes.cyber-defence"],
    dropped: ["description"],
    profile: "cyber-default",
    minimized: [{ path: "pattern", action: "pseudonymized", kind: "ipv4" }],
    sentAs: null,
  };
}

describe("decisions in batches", () => {
  const decisions = Array.from({ length: 2000 }, (_, i) => decision(i));
  const entries = decisionEntries(AT, header, decisions);

  it("packs many decisions per entry, each entry within the log's 65,535-byte limit", () => {
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.length).toBeLessThan(decisions.length / 50);
    for (const e of entries) {
      expect(e.kind).toBe(DECISIONS_KIND);
      expect(encodeLogEntry(e).length).toBeLessThanOrEqual(65_535);
      expect(e.data).toMatchObject(header);
    }
  });

  it("expands back to every decision, in order, with the batch's shared members", () => {
    const expanded = entries.flatMap((e, seq) => expandDecisions({ ...e, seq }));
    expect(expanded.map((d) => d.data)).toStrictEqual(decisions.map((d) => ({ ...header, ...d })));
    const first = expanded.filter((d) => d.seq === 0);
    expect(first.map((d) => d.index)).toStrictEqual([...first.keys()]);
  });

  it("gives a lone decision larger than a batch an entry of its own", () => {
    const big = { ...decision(1), clauses: Array.from({ length: 7000 }, (_, i) => `§c${i}`) };
    const out = decisionEntries(AT, header, [decision(0), big, decision(2)]);
    expect(out.map((e) => (e.data.decisions as unknown[]).length)).toStrictEqual([1, 1, 1]);
  });

  it("writes no entry for no decisions, and expands a `decision` entry and other kinds", () => {
    expect(decisionEntries(AT, header, [])).toStrictEqual([]);
    const single = { seq: 4, at: AT, kind: "decision", data: { ...header, ...decision(3) } };
    expect(expandDecisions(single)).toStrictEqual([
      { seq: 4, index: 0, at: AT, data: single.data },
    ]);
    expect(expandDecisions({ seq: 5, at: AT, kind: "share", data: { envelope: "e" } })).toEqual([]);
  });

  describe("in a real log", () => {
    let store: Store;
    beforeAll(async () => {
      store = await openSqliteStore({ path: ":memory:" });
      await store.ledger.append({ kind: "ingest", at: AT, data: { objects: 2000 } });
      await store.transaction(async (tx) => {
        for (const e of entries) await tx.ledger.append(e);
      });
    });
    afterAll(async () => {
      await store.close();
    });

    it("proves one decision by its entry's inclusion in the tree", async () => {
      const log = await store.ledger.list(0, 1000);
      const found = log
        .flatMap(expandDecisions)
        .find((d) => d.data.object === decisions[1234]?.object);
      expect(found?.data).toStrictEqual({ ...header, ...decisions[1234] });
      const seq = found?.seq ?? -1;
      expect(seq).toBeGreaterThan(0);
      const entry = log[seq];
      if (entry === undefined) throw new Error("no entry");
      const proof = await proveInclusion(store.ledger, seq);
      const leaf = leafHash(encodeLogEntry(entry));
      expect(proof.leafHash).toStrictEqual(leaf);
      const head = await logHead(store.ledger);
      expect(verifyInclusion(seq, head.size, leaf, proof.proof, head.rootHash)).toBe(true);
    });
  });
});
