/**
 * The one storage conformance suite (STYLE.md, "Tests"; spec/storage.md): every adapter of the
 * store ports in src/app/ports.ts runs exactly these tests, so the adapters share a contract
 * rather than code. An adapter's test file is a few lines that call `describeStoreConformance`.
 *
 * `open()` opens the adapter's store under test. Before `cleanup()` runs, opening again reaches the
 * same data (that is how close-and-reopen is tested); `cleanup()` runs after every test and
 * discards the data, so the next `open()` starts empty.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  AgreementRecord,
  LedgerEntry,
  OutboxItem,
  Peer,
  Provenance,
  Repos,
  Store,
  StoredObject,
} from "../../src/app/ports.js";
import { verifyStoredLog } from "../../src/app/log.js";
import { runWritePlan } from "../../src/app/write-plan.js";
import { encodeLogEntry } from "../../src/core/log-entry.js";
import { leafHash } from "../../src/tlog/index.js";
import { entryNumber, testEntry } from "../support/log-entries.js";
import type { JsonValue, StixObject } from "../../src/core/stix/object.js";
import { AccordError } from "../../src/errors.js";
import { freshStores } from "./fresh-stores.js";

export interface ConformanceOptions {
  /**
   * Whether reopening before `cleanup()` reaches the same data (default true). False for stores
   * that live in memory; the tests of durability across reopening are then skipped.
   */
  readonly persistent?: boolean;
}

type Open = () => Promise<Store>;

export function describeStoreConformance(
  name: string,
  open: Open,
  cleanup?: () => Promise<void>,
  options: ConformanceOptions = {},
): void {
  const persistent = options.persistent ?? true;

  describe(`store conformance: ${name}`, () => {
    const fresh = freshStores(open, cleanup);

    describe("objects", () => {
      objectTests(fresh);
    });
    describe("ledger", () => {
      ledgerTests(fresh);
    });
    describe("outbox", () => {
      outboxTests(fresh);
    });
    describe("inbox, peers and agreements", () => {
      recordTests(fresh);
    });
    describe("transactions", () => {
      transactionTests(fresh);
    });
    describe("lifecycle", () => {
      lifecycleTests(fresh, persistent);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/** 2024-05-01T00:00:SS.000Z, `seconds` after the suite's epoch (0 <= seconds < 60). */
function at(seconds: number): string {
  return `2024-05-01T00:00:${String(seconds).padStart(2, "0")}.000Z`;
}

const T0 = at(0);

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

function indicator(
  id: string,
  modified: string,
  extra: Readonly<Record<string, JsonValue>> = {},
): StixObject {
  return {
    type: "indicator",
    spec_version: "2.1",
    id,
    created: T0,
    modified,
    pattern: "[ipv4-addr:value = '198.51.100.7']",
    pattern_type: "stix",
    valid_from: T0,
    ...extra,
  };
}

const LOCAL: Provenance = {
  originator: "node-a",
  receivedFrom: null,
  agreementId: null,
  agreementVersion: null,
  purpose: null,
  retentionUntil: null,
  envelopeId: null,
};

function receivedVia(envelopeId: string): Provenance {
  return {
    originator: "node-b",
    receivedFrom: "node-b",
    agreementId: "agreement-ab",
    agreementVersion: 3,
    purpose: "incident-response",
    retentionUntil: "2025-05-01T00:00:00Z",
    envelopeId,
  };
}

function stored(object: StixObject, provenance: Provenance = LOCAL, storedAt = T0): StoredObject {
  return { object, provenance, storedAt };
}

function outboxItem(id: string, createdAt: string, recipient = "node-b") {
  return { id, recipient, envelope: `eyJhbGciOiJFQ0RILUVTIn0.${id}.iv.ct.tag`, createdAt };
}

function agreement(id: string, version: number, hash = "a".repeat(64)): AgreementRecord {
  return { id, version, source: `id: ${id}\nversion: ${version}\n`, hash, loadedAt: T0 };
}

function peer(nodeId: string, url: string): Peer {
  return {
    nodeId,
    url,
    signingKey: { kty: "OKP", crv: "Ed25519", x: `sig-${nodeId}` },
    encryptionKey: { kty: "OKP", crv: "X25519", x: `enc-${nodeId}` },
    addedAt: T0,
  };
}

/** JSON that breaks naive storage: unicode, escapes, extreme numbers, deep nesting, odd keys. */
const AWKWARD: Readonly<Record<string, JsonValue>> = {
  name: 'Ünïcødé — 日本語 — 🛰️ — \u2028\u2029 — "quoted" \\ back\nslash\ttab',
  x_numbers: [
    0,
    1,
    -1,
    0.1,
    -2.5e-8,
    1e21,
    2 ** 63,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
    1.7976931348623157e308,
    5e-324,
  ],
  x_nested: {
    a: { b: { c: [[], {}, [null, true, false, ""]] } },
    "key with spaces": "v",
    ключ: "значение",
    "": "empty key",
    "10": "numeric-looking key",
  },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `rejects with ${code}`).toBeInstanceOf(AccordError);
  expect((error as AccordError).code).toBe(code);
}

/** Hex leaf hash of an entry as the log encodes it (spec/log.md). */
function leafHex(e: { kind: string; at: string; data: Readonly<Record<string, unknown>> }): string {
  return Buffer.from(leafHash(encodeLogEntry(e))).toString("hex");
}

/**
 * The log recomputes (every leaf and tile hash, the frontier), seqs are 0..n-1, each entry's
 * leaf hash is its encoding's, and it has `n` entries.
 */
async function expectIntactLedger(repos: Repos, n: number): Promise<LedgerEntry[]> {
  const entries = await repos.ledger.list(0, n + 10);
  expect(
    entries.map((e) => e.seq),
    "seqs are dense from 0",
  ).toEqual(range(n));
  for (const e of entries) expect(e.leafHash, `leaf hash of ${e.seq}`).toBe(leafHex(e));
  const verdict = await verifyStoredLog(repos.ledger);
  expect(verdict.problem, "the log recomputes").toBeUndefined();
  expect(verdict.ok).toBe(true);
  expect(verdict.entries).toBe(n);
  expect(await repos.ledger.size(), "size").toBe(n);
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Objects

function objectTests(fresh: Open): void {
  it("returns what was put, with JSON and provenance intact", async () => {
    const store = await fresh();
    const entry = stored(
      indicator(`indicator--${uuid(1)}`, at(1), AWKWARD),
      receivedVia("env-1"),
      "2024-05-01T02:00:00.123456+02:00",
    );
    expect(await store.objects.put(entry)).toBe("inserted");
    expect(await store.objects.get(entry.object.id)).toStrictEqual(entry);
    expect(await store.objects.versions(entry.object.id)).toStrictEqual([entry]);
  });

  it("returns undefined and no versions for an id it does not hold", async () => {
    const store = await fresh();
    await store.objects.put(stored(indicator(`indicator--${uuid(1)}`, at(1))));
    expect(await store.objects.get(`indicator--${uuid(2)}`)).toBeUndefined();
    expect(await store.objects.versions(`indicator--${uuid(2)}`)).toEqual([]);
  });

  it("keeps the first write of a version: a second put is unchanged and keeps its provenance", async () => {
    const store = await fresh();
    const id = `indicator--${uuid(1)}`;
    const first = stored(indicator(id, at(1)), receivedVia("env-1"), at(2));
    const again = stored(indicator(id, at(1), { name: "other" }), LOCAL, at(3));
    expect(await store.objects.put(first)).toBe("inserted");
    expect(await store.objects.put(again)).toBe("unchanged");
    expect(await store.objects.put(first)).toBe("unchanged");
    expect(await store.objects.get(id)).toStrictEqual(first);
    expect(await store.objects.count()).toBe(1);
  });

  it("gets the latest version whatever the order of puts, and lists versions oldest first", async () => {
    const store = await fresh();
    const id = `indicator--${uuid(1)}`;
    const [v1, v2, v3] = [at(1), at(2), at(3)].map((m) => stored(indicator(id, m)));
    for (const e of [v2, v3, v1]) await store.objects.put(e!);
    expect(await store.objects.get(id)).toStrictEqual(v3);
    expect(await store.objects.versions(id)).toStrictEqual([v1, v2, v3]);
  });

  it("orders versions by instant, not by spelling", async () => {
    const store = await fresh();
    const id = `indicator--${uuid(1)}`;
    // As strings "…:01Z" > "…:01.5Z" > "…:01.25Z"; as instants it is the other way round, and
    // "…T01:00:02+01:00" is one second after "…T00:00:01Z".
    const spellings = [
      "2024-05-01T00:00:01Z",
      "2024-05-01T00:00:01.25Z",
      "2024-05-01T00:00:01.5Z",
      "2024-05-01T01:00:02+01:00",
      "2024-05-01T00:00:02.000001Z",
    ];
    for (const m of [...spellings].reverse()) await store.objects.put(stored(indicator(id, m)));
    const versions = await store.objects.versions(id);
    expect(versions.map((v) => v.object.modified)).toEqual(spellings);
    expect((await store.objects.get(id))?.object.modified).toBe("2024-05-01T00:00:02.000001Z");
  });

  it("stores objects without versions and refuses a version that is not a timestamp", async () => {
    const store = await fresh();
    const address: StixObject = {
      type: "ipv4-addr",
      spec_version: "2.1",
      id: `ipv4-addr--${uuid(1)}`,
      value: "198.51.100.7",
    };
    expect(await store.objects.put(stored(address))).toBe("inserted");
    expect(await store.objects.put(stored(address))).toBe("unchanged");
    expect(await store.objects.get(address.id)).toStrictEqual(stored(address));
    await expect(
      store.objects.put(stored(indicator(`indicator--${uuid(2)}`, "yesterday"))),
    ).rejects.toBeInstanceOf(RangeError);
    expect(await store.objects.count()).toBe(1);
  });

  it("lists latest versions ordered bytewise by id, filtered by type and paged by afterId", async () => {
    const store = await fresh();
    // Mixed case and punctuation: bytewise order differs from most locales' collation.
    const ids = ["indicator--b", "indicator--B", "indicator--a-2", "indicator--a", "malware--A"];
    for (const id of ids) {
      const object = id.startsWith("malware")
        ? { ...indicator(id, at(1)), type: "malware" }
        : indicator(id, at(1));
      await store.objects.put(stored(object));
      await store.objects.put(stored({ ...object, modified: at(2) }));
    }
    const sorted = [...ids].sort();
    const all = await store.objects.list({ limit: 100 });
    expect(all.map((e) => e.object.id)).toEqual(sorted);
    expect(
      all.every((e) => e.object.modified === at(2)),
      "only latest versions",
    ).toBe(true);

    const indicators = await store.objects.list({ type: "indicator", limit: 100 });
    expect(indicators.map((e) => e.object.id)).toEqual(sorted.filter((i) => i !== "malware--A"));
    expect(await store.objects.list({ type: "tool", limit: 100 })).toEqual([]);

    expect((await store.objects.list({ limit: 2 })).map((e) => e.object.id)).toEqual(
      sorted.slice(0, 2),
    );
    const after = await store.objects.list({ afterId: sorted[1]!, limit: 2 });
    expect(after.map((e) => e.object.id)).toEqual(sorted.slice(2, 4));
    const typedAfter = await store.objects.list({
      type: "indicator",
      afterId: "indicator--a",
      limit: 10,
    });
    expect(typedAfter.map((e) => e.object.id)).toEqual(
      sorted.filter((i) => i > "indicator--a" && i.startsWith("indicator")),
    );
    expect(await store.objects.list({ afterId: "zzz", limit: 10 })).toEqual([]);
    expect(await store.objects.list({ limit: 0 })).toEqual([]);
    expect(await store.objects.count()).toBe(ids.length * 2);
  });

  it("pages through every object exactly once", async () => {
    const store = await fresh();
    const ids = range(23).map((i) => `indicator--${uuid((i * 7919) % 101)}`);
    await store.transaction(async (tx) => {
      for (const id of ids) await tx.objects.put(stored(indicator(id, at(1))));
    });
    const seen: string[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await store.objects.list(
        afterId === undefined ? { limit: 5 } : { afterId, limit: 5 },
      );
      if (page.length === 0) break;
      seen.push(...page.map((e) => e.object.id));
      afterId = page.at(-1)?.object.id;
    }
    expect(seen).toEqual([...ids].sort());
  });

  it("refuses a limit that is negative or not an integer", async () => {
    const store = await fresh();
    for (const limit of [-1, 1.5, Number.NaN]) {
      await expect(store.objects.list({ limit })).rejects.toBeInstanceOf(RangeError);
      await expect(store.ledger.list(0, limit)).rejects.toBeInstanceOf(RangeError);
      await expect(store.outbox.due(T0, limit)).rejects.toBeInstanceOf(RangeError);
      await expect(store.outbox.list({ limit })).rejects.toBeInstanceOf(RangeError);
    }
    await expect(store.ledger.list(-1, 10)).rejects.toBeInstanceOf(RangeError);
  });

  it("putMany and getMany give, for any entries, what put and get give one by one", async () => {
    const store = await fresh();
    // Batches of more than one statement's rows (the SQLite adapter writes 32 to a statement).
    // The same entries go in twice under disjoint ids: one by one, then in one putMany.
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ k: fc.integer({ min: 0, max: 30 }), second: fc.integer({ min: 0, max: 2 }) }),
          { maxLength: 90 },
        ),
        async (puts) => {
          run++;
          const id = (k: number): string => `indicator--${uuid(run * 1000 + k)}`;
          const entries = (offset: number) =>
            puts.map((p, i) =>
              stored(indicator(id(p.k + offset), `2024-05-01T00:00:0${p.second}Z`, { x_put: i }), {
                ...LOCAL,
                purpose: `put ${i}`,
              }),
            );
          const singly: string[] = [];
          for (const e of entries(0)) singly.push(await store.objects.put(e));
          const count = await store.objects.count();
          expect(await store.objects.putMany(entries(500)), "results, in order").toStrictEqual(
            singly,
          );
          expect(await store.objects.count(), "versions stored").toBe(
            count + singly.filter((r) => r === "inserted").length,
          );
          const ids = [...puts.map((p) => id(p.k + 500)), id(99), id(499), id(puts[0]?.k ?? 0)];
          const expected = await Promise.all(ids.map((i) => store.objects.get(i)));
          expect(await store.objects.getMany(ids), "latest of each id, in order").toStrictEqual(
            expected,
          );
          for (const p of puts) {
            const [a, b] = [
              await store.objects.versions(id(p.k)),
              await store.objects.versions(id(p.k + 500)),
            ];
            expect(
              b.map((v) => v.object),
              "the same versions, first writes kept",
            ).toStrictEqual(a.map((v) => ({ ...v.object, id: id(p.k + 500) })));
          }
        },
      ),
      { numRuns: 15 },
    );
  });

  it("holds, for any sequence of puts, the greatest version of each id as first written", async () => {
    const store = await fresh();
    // Spellings of a few instants, several per instant, so ties in time are exercised too.
    const spelling = fc
      .record({
        second: fc.integer({ min: 0, max: 2 }),
        ms: fc.constantFrom(0, 1, 500, 999),
        form: fc.constantFrom("s", "ms", "us", "us+1", "offset"),
      })
      .map(({ second, ms, form }) => {
        const frac = String(ms).padStart(3, "0");
        switch (form) {
          case "s":
            return `2024-05-01T00:00:0${second}Z`;
          case "ms":
            return `2024-05-01T00:00:0${second}.${frac}Z`;
          case "us":
            return `2024-05-01T00:00:0${second}.${frac}000Z`;
          case "us+1":
            return `2024-05-01T00:00:0${second}.${frac}001Z`;
          default:
            return `2024-05-01T01:00:0${second}.${frac}+01:00`;
        }
      });
    // The model's order: instant in nanoseconds, then spelling (greater string wins a tie).
    const instant = (ts: string): bigint => {
      const m = /T(\d\d):00:(\d\d)(?:\.(\d+))?(Z|\+01:00)$/.exec(ts)!;
      const hours = Number(m[1]) - (m[4] === "Z" ? 0 : 1);
      return (
        BigInt(hours * 3600 + Number(m[2])) * 1_000_000_000n + BigInt((m[3] ?? "").padEnd(9, "0"))
      );
    };
    const before = (a: string, b: string): number =>
      instant(a) === instant(b) ? (a < b ? -1 : a > b ? 1 : 0) : instant(a) < instant(b) ? -1 : 1;

    let run = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ k: fc.integer({ min: 0, max: 3 }), modified: spelling }), {
          maxLength: 20,
        }),
        async (puts) => {
          run++;
          const firstWrites = new Map<string, StoredObject>();
          for (const [i, p] of puts.entries()) {
            const id = `indicator--${uuid(run * 10 + p.k)}`;
            const entry = stored(indicator(id, p.modified, { x_put: i }), {
              ...LOCAL,
              purpose: `put ${i}`,
            });
            const key = `${id} ${p.modified}`;
            const result = await store.objects.put(entry);
            expect(result, "put result").toBe(firstWrites.has(key) ? "unchanged" : "inserted");
            if (!firstWrites.has(key)) firstWrites.set(key, entry);
          }
          total += firstWrites.size;
          const byId = new Map<string, StoredObject[]>();
          for (const e of firstWrites.values()) {
            byId.set(e.object.id, [...(byId.get(e.object.id) ?? []), e]);
          }
          for (const [id, versions] of byId) {
            const expected = [...versions].sort((a, b) =>
              before(a.object.modified!, b.object.modified!),
            );
            expect(await store.objects.versions(id), "versions, oldest first").toStrictEqual(
              expected,
            );
            expect(await store.objects.get(id), "get is the greatest version").toStrictEqual(
              expected.at(-1),
            );
          }
          expect(await store.objects.count(), "count of versions").toBe(total);
        },
      ),
      { numRuns: 40 },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Ledger

function ledgerTests(fresh: Open): void {
  it("starts the log at seq 0 and lists what it appended", async () => {
    const store = await fresh();
    expect(await store.ledger.size()).toBe(0);
    expect(await store.ledger.list(0, 10)).toEqual([]);
    const { data } = testEntry(1);
    const entry = await store.ledger.append({ kind: "ingest", at: T0, data });
    expect(entry).toStrictEqual({
      seq: 0,
      at: T0,
      kind: "ingest",
      data,
      leafHash: leafHex({ kind: "ingest", at: T0, data }),
    });
    expect(await store.ledger.list(0, 10)).toStrictEqual([entry]);
  });

  it("appends at dense seqs into a tree that recomputes, and lists windows", async () => {
    const store = await fresh();
    const appended: LedgerEntry[] = [];
    for (const i of range(7)) {
      appended.push(await store.ledger.append(testEntry(i, { at: at(i) })));
    }
    const entries = await expectIntactLedger(store, 7);
    expect(entries).toStrictEqual(appended);
    const window = await store.ledger.list(2, 3);
    expect(window.map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(window).toStrictEqual(entries.slice(2, 5));
    expect(await store.ledger.list(7, 10)).toEqual([]);
    expect(await store.ledger.list(0, 0)).toEqual([]);
  });

  it("keeps one tree under 50 concurrent appends", async () => {
    const store = await fresh();
    const appended = await Promise.all(
      range(50).map((i) => store.ledger.append(testEntry(i, { at: T0, kind: "share" }))),
    );
    expect(new Set(appended.map((e) => e.seq)).size, "no seq is shared").toBe(50);
    const entries = await expectIntactLedger(store, 50);
    for (const e of appended) expect(entries[e.seq], `entry ${e.seq}`).toStrictEqual(e);
    expect(new Set(entries.map((e) => entryNumber(e))).size, "every append recorded").toBe(50);
  });

  it("keeps one tree under concurrent appends inside one transaction", async () => {
    const store = await fresh();
    await store.ledger.append(testEntry(0, { at: T0, tag: "before" }));
    await store.transaction(async (tx) => {
      await Promise.all(
        range(10).map((i) => tx.ledger.append(testEntry(i, { at: T0, kind: "share" }))),
      );
    });
    await expectIntactLedger(store, 11);
  });

  it("keeps one tree under concurrent transactions that append", async () => {
    const store = await fresh();
    await Promise.all(
      range(10).map((t) =>
        store.transaction(async (tx) => {
          for (const i of range(5)) {
            await tx.ledger.append(testEntry(t * 5 + i, { at: T0, kind: "share" }));
          }
        }),
      ),
    );
    await expectIntactLedger(store, 50);
  });

  it("stores entry data exactly, so every stored leaf hash recomputes", async () => {
    const store = await fresh();
    // The one kind whose data holds free text: a partner's signed notes (evidence of a fork).
    const data = {
      partner: "XB",
      reason: "fork",
      previous: AWKWARD.name as string,
      offered: JSON.stringify(AWKWARD),
    };
    const entry = await store.ledger.append({
      kind: "witness-alarm",
      at: "2024-05-01T02:00:00+02:00",
      data,
    });
    expect(entry.data).toStrictEqual(data);
    const [listed] = await store.ledger.list(0, 1);
    expect(listed).toStrictEqual(entry);
    expect(leafHex(listed!)).toBe(listed!.leafHash);
    await expectIntactLedger(store, 1);
  });
}

// ---------------------------------------------------------------------------------------------
// Outbox

function outboxTests(fresh: Open): void {
  it("enqueues a pending item due at its creation time", async () => {
    const store = await fresh();
    const item = outboxItem("env-1", at(1));
    await store.outbox.enqueue(item);
    expect(await store.outbox.get("env-1")).toStrictEqual({
      ...item,
      status: "pending",
      attempts: 0,
      nextAttemptAt: item.createdAt,
      lastError: null,
      deliveredAt: null,
      receipt: null,
      agreementId: null,
      agreementVersion: null,
      cancelledAt: null,
      cancelReason: null,
    } satisfies OutboxItem);
    expect(await store.outbox.get("env-2")).toBeUndefined();
  });

  it("takes an envelope as its ASCII bytes, keeps it as text, and refuses other bytes", async () => {
    const store = await fresh();
    const item = outboxItem("env-1", at(1));
    const bytes = new TextEncoder().encode(`x${item.envelope}`).subarray(1);
    await store.outbox.enqueue({ ...item, envelope: bytes });
    expect((await store.outbox.get("env-1"))?.envelope).toBe(item.envelope);
    // Due, it is handed back as its bytes (a Buffer's view; compared as bytes).
    const [due] = await store.outbox.due(at(1), 10);
    expect(Buffer.from(due!.envelope).toString("latin1")).toBe(item.envelope);
    await store.outbox.enqueue({ ...outboxItem("env-3", at(2)), envelope: "eyJ.text.iv.ct.tag" });
    const both = await store.outbox.due(at(2), 10);
    expect(both.map((i) => [i.id, Buffer.from(i.envelope).toString("latin1")])).toEqual([
      ["env-1", item.envelope],
      ["env-3", "eyJ.text.iv.ct.tag"],
    ]);
    expect(both.every((i) => i.envelope instanceof Uint8Array)).toBe(true);
    const nonAscii = new TextEncoder().encode("eyJ.é.iv.ct.tag");
    await expect(
      store.outbox.enqueue({ ...outboxItem("env-2", at(1)), envelope: nonAscii }),
    ).rejects.toThrow(RangeError);
    expect(await store.outbox.get("env-2")).toBeUndefined();
  });

  it("returns due items oldest first, comparing times as instants", async () => {
    const store = await fresh();
    // Enqueued newest first. As strings "…:01Z" sorts after "…:01.5Z"; as instants it is earlier.
    await store.outbox.enqueue(outboxItem("c", "2024-05-01T00:00:02Z"));
    await store.outbox.enqueue(outboxItem("b", "2024-05-01T00:00:01.5Z"));
    await store.outbox.enqueue(outboxItem("a", "2024-05-01T00:00:01Z"));
    const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id);
    expect(ids(await store.outbox.due("2024-05-01T00:00:00.999Z", 10))).toEqual([]);
    expect(ids(await store.outbox.due("2024-05-01T00:00:01.5Z", 10))).toEqual(["a", "b"]);
    expect(ids(await store.outbox.due("2024-05-01T02:00:05+02:00", 10))).toEqual(["a", "b", "c"]);
    expect(ids(await store.outbox.due(at(5), 2))).toEqual(["a", "b"]);
    expect(ids(await store.outbox.due(at(5), 0))).toEqual([]);
  });

  it("marks a pending item delivered exactly once", async () => {
    const store = await fresh();
    await store.outbox.enqueue(outboxItem("env-1", T0));
    expect(await store.outbox.markDelivered("env-1", "receipt.jws.sig", at(1))).toBe(true);
    expect(await store.outbox.markDelivered("env-1", "other.jws.sig", at(2))).toBe(false);
    expect(await store.outbox.markDelivered("env-unknown", "r", at(2))).toBe(false);
    const item = await store.outbox.get("env-1");
    expect(item).toMatchObject({
      status: "delivered",
      receipt: "receipt.jws.sig",
      deliveredAt: at(1),
    });
    expect(await store.outbox.due(at(59), 10)).toEqual([]);
  });

  it("drops a delivered item's envelope with its receipt and keeps every pending one", async () => {
    const store = await fresh();
    const [sent, waiting, failed] = [
      outboxItem("env-sent", T0),
      outboxItem("env-waiting", at(1)),
      outboxItem("env-failed", at(2)),
    ];
    for (const item of [sent, waiting, failed]) await store.outbox.enqueue(item);
    await store.outbox.markFailed("env-failed", "peer unavailable", at(10));
    expect(await store.outbox.markDelivered("env-sent", "receipt.jws.sig", at(3))).toBe(true);

    const envelopes = async () =>
      (await store.outbox.list({ limit: 10 })).map((i) => [i.id, i.status, i.envelope]);
    expect(await envelopes()).toEqual([
      ["env-sent", "delivered", null],
      ["env-waiting", "pending", waiting.envelope],
      ["env-failed", "pending", failed.envelope],
    ]);
    expect((await store.outbox.get("env-sent"))?.envelope, "get").toBeNull();
    expect((await store.outbox.get("env-sent"))?.receipt, "receipt kept").toBe("receipt.jws.sig");
    expect(
      (await store.outbox.due(at(10), 10)).map((i) => [
        i.id,
        Buffer.from(i.envelope).toString("latin1"),
      ]),
      "due items carry their envelopes",
    ).toEqual([
      ["env-waiting", waiting.envelope],
      ["env-failed", failed.envelope],
    ]);

    // A delivery whose recording rolls back drops nothing: the item stays pending, envelope and all.
    const boom = new Error("boom");
    await expect(
      store.transaction(async (tx) => {
        expect(await tx.outbox.markDelivered("env-waiting", "receipt.jws.sig", at(4))).toBe(true);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await store.outbox.get("env-waiting")).toMatchObject({
      status: "pending",
      envelope: waiting.envelope,
      receipt: null,
    });
  });

  it("records failed attempts and moves the next attempt", async () => {
    const store = await fresh();
    await store.outbox.enqueue(outboxItem("env-1", T0));
    await store.outbox.markFailed("env-1", "peer unavailable", at(10));
    expect(await store.outbox.get("env-1")).toMatchObject({
      status: "pending",
      attempts: 1,
      lastError: "peer unavailable",
      nextAttemptAt: at(10),
    });
    expect(await store.outbox.due(at(9), 10)).toEqual([]);
    expect((await store.outbox.due(at(10), 10)).map((i) => i.id)).toEqual(["env-1"]);
    await store.outbox.markFailed("env-1", "timeout", at(20));
    expect(await store.outbox.get("env-1")).toMatchObject({ attempts: 2, lastError: "timeout" });

    // A delivered item's record is final; an unknown id changes nothing.
    await store.outbox.markDelivered("env-1", "receipt.jws.sig", at(21));
    await store.outbox.markFailed("env-1", "late failure", at(30));
    await store.outbox.markFailed("env-unknown", "nothing", at(30));
    expect(await store.outbox.get("env-1")).toMatchObject({
      status: "delivered",
      attempts: 2,
      lastError: "timeout",
      nextAttemptAt: at(20),
    });
    expect(await store.outbox.get("env-unknown")).toBeUndefined();
  });

  it("lists items oldest first, filtered by status", async () => {
    const store = await fresh();
    for (const [id, s] of [
      ["x", 3],
      ["y", 1],
      ["z", 2],
    ] as const) {
      await store.outbox.enqueue(outboxItem(id, at(s)));
    }
    await store.outbox.markDelivered("y", "r", at(4));
    const ids = (items: readonly { id: string }[]): string[] => items.map((i) => i.id);
    expect(ids(await store.outbox.list({ limit: 10 }))).toEqual(["y", "z", "x"]);
    expect(ids(await store.outbox.list({ limit: 2 }))).toEqual(["y", "z"]);
    expect(ids(await store.outbox.list({ status: "pending", limit: 10 }))).toEqual(["z", "x"]);
    expect(ids(await store.outbox.list({ status: "delivered", limit: 10 }))).toEqual(["y"]);
    expect(await store.outbox.list({ status: "cancelled", limit: 10 })).toEqual([]);
  });

  it("refuses a second item with the same id and keeps the first", async () => {
    const store = await fresh();
    await store.outbox.enqueue(outboxItem("env-1", T0, "node-b"));
    await expectCode(store.outbox.enqueue(outboxItem("env-1", at(1), "node-c")), "ERR_STORAGE");
    expect(await store.outbox.get("env-1")).toMatchObject({ recipient: "node-b", createdAt: T0 });
  });
}

// ---------------------------------------------------------------------------------------------
// Inbox, peers, agreements

function recordTests(fresh: Open): void {
  it("records an envelope once: a second record returns false and keeps the first", async () => {
    const store = await fresh();
    const rec = {
      envelopeId: "env-1",
      sender: "node-b",
      envelopeHash: "1".repeat(64),
      receivedAt: "2024-05-01T02:00:00+02:00",
      receipt: "receipt.jws.sig",
    };
    expect(await store.inbox.get("env-1")).toBeUndefined();
    expect(await store.inbox.record(rec)).toBe(true);
    expect(
      await store.inbox.record({ ...rec, envelopeHash: "2".repeat(64), receipt: "other" }),
    ).toBe(false);
    expect(await store.inbox.get("env-1")).toStrictEqual(rec);
  });

  it("upserts peers by node id, replacing every field, and lists them bytewise by node id", async () => {
    const store = await fresh();
    await store.peers.upsert(peer("node-b", "https://b.example"));
    await store.peers.upsert(peer("Node-C", "https://c.example"));
    await store.peers.upsert(peer("node-a", "https://a.example"));
    const replaced: Peer = {
      nodeId: "node-b",
      url: "https://b2.example",
      signingKey: { kty: "OKP", crv: "Ed25519", x: "rotated", kid: "ключ-2" },
      encryptionKey: { kty: "OKP", crv: "X25519", x: "rotated-enc" },
      addedAt: at(9),
    };
    await store.peers.upsert(replaced);
    expect(await store.peers.get("node-b")).toStrictEqual(replaced);
    expect(await store.peers.get("node-z")).toBeUndefined();
    expect((await store.peers.list()).map((p) => p.nodeId)).toEqual(["Node-C", "node-a", "node-b"]);
    expect(await store.peers.list()).toHaveLength(3);
  });

  it("puts agreements idempotently and refuses another hash for a held version", async () => {
    const store = await fresh();
    const a1 = agreement("agreement-ab", 1);
    expect(await store.agreements.put(a1)).toBe("inserted");
    expect(await store.agreements.put({ ...a1, loadedAt: at(5) })).toBe("unchanged");
    await expectCode(
      store.agreements.put({ ...a1, hash: "b".repeat(64), source: "changed" }),
      "ERR_AGREEMENT_INVALID",
    );
    expect(await store.agreements.get("agreement-ab", 1)).toStrictEqual(a1);
    expect(await store.agreements.get("agreement-ab", 2)).toBeUndefined();
  });

  it("lists the highest version of each agreement, ordered by id", async () => {
    const store = await fresh();
    for (const rec of [
      agreement("agreement-ab", 2),
      agreement("agreement-ab", 10),
      agreement("agreement-ab", 9),
      agreement("Agreement-CD", 1),
      agreement("agreement-aa", 3),
    ]) {
      await store.agreements.put(rec);
    }
    const latest = await store.agreements.listLatest();
    expect(latest.map((a) => [a.id, a.version])).toEqual([
      ["Agreement-CD", 1],
      ["agreement-aa", 3],
      ["agreement-ab", 10],
    ]);
    expect(latest[2]).toStrictEqual(agreement("agreement-ab", 10));
  });
}

// ---------------------------------------------------------------------------------------------
// Transactions

function transactionTests(fresh: Open): void {
  it("commits everything written through the transaction and returns the body's value", async () => {
    const store = await fresh();
    const object = stored(indicator(`indicator--${uuid(1)}`, at(1)), receivedVia("env-1"));
    const result = await store.transaction(async (tx) => {
      await tx.objects.put(object);
      await tx.ledger.append(testEntry(1, { at: T0, kind: "receipt" }));
      await tx.outbox.enqueue(outboxItem("env-2", T0));
      expect(await tx.objects.get(object.object.id), "reads its own writes").toStrictEqual(object);
      return "done";
    });
    expect(result).toBe("done");
    expect(await store.objects.get(object.object.id)).toStrictEqual(object);
    expect(await store.ledger.size()).toBe(1);
    expect(await store.outbox.get("env-2")).toBeDefined();
  });

  it("writes nothing when the body throws, and rethrows the same error", async () => {
    const store = await fresh();
    const committed = await store.ledger.append(testEntry(0, { at: T0 }));
    const boom = new Error("boom");
    const outcome = store.transaction(async (tx) => {
      await tx.objects.put(stored(indicator(`indicator--${uuid(1)}`, at(1))));
      await tx.ledger.append(testEntry(9, { at: T0, kind: "share", tag: "lost" }));
      await tx.outbox.enqueue(outboxItem("env-1", T0));
      await tx.inbox.record({
        envelopeId: "env-2",
        sender: "node-b",
        envelopeHash: "1".repeat(64),
        receivedAt: T0,
        receipt: "r",
      });
      await tx.peers.upsert(peer("node-b", "https://b.example"));
      await tx.agreements.put(agreement("agreement-ab", 1));
      throw boom;
    });
    await expect(outcome).rejects.toBe(boom);
    expect(await store.objects.count()).toBe(0);
    expect(await store.ledger.size()).toBe(1);
    expect(await store.outbox.list({ limit: 10 })).toEqual([]);
    expect(await store.inbox.get("env-2")).toBeUndefined();
    expect(await store.peers.list()).toEqual([]);
    expect(await store.agreements.listLatest()).toEqual([]);

    // The log continues from the committed tree: the rolled-back seq is not burned.
    const next = await store.ledger.append(testEntry(1, { at: T0, kind: "share" }));
    expect(next.seq).toBe(1);
    expect((await store.ledger.list(0, 1))[0]).toStrictEqual(committed);
    await expectIntactLedger(store, 2);
  });

  it("never commits a transaction in which a statement failed, even when the body caught it", async () => {
    const store = await fresh();
    await expectCode(
      store.transaction(async (tx) => {
        await tx.outbox.enqueue(outboxItem("env-1", T0));
        await tx.objects.put(stored(indicator(`indicator--${uuid(1)}`, at(1))));
        await tx.outbox.enqueue(outboxItem("env-1", T0)).catch(() => undefined);
        return "swallowed";
      }),
      "ERR_STORAGE",
    );
    expect(await store.outbox.get("env-1")).toBeUndefined();
    expect(await store.objects.count()).toBe(0);
  });

  it("commits after the body caught a refused agreement, which is a verdict, not a failure", async () => {
    const store = await fresh();
    await store.agreements.put(agreement("agreement-ab", 1));
    const result = await store.transaction(async (tx) => {
      await expectCode(
        tx.agreements.put(agreement("agreement-ab", 1, "b".repeat(64))),
        "ERR_AGREEMENT_INVALID",
      );
      await tx.objects.put(stored(indicator(`indicator--${uuid(1)}`, at(1))));
      return 7;
    });
    expect(result).toBe(7);
    expect(await store.objects.count()).toBe(1);
  });

  it("never shows a transaction's uncommitted writes outside it", async () => {
    const store = await fresh();
    const id = `indicator--${uuid(1)}`;
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const boom = new Error("rolled back");
    const tx = store.transaction(async (t) => {
      await t.objects.put(stored(indicator(id, at(1))));
      await t.ledger.append(testEntry(0, { at: T0 }));
      entered();
      await gate;
      throw boom;
    });
    await inside;
    // Issued while the transaction is open: either isolated from it or made to wait for it.
    const outside = Promise.all([
      store.objects.get(id),
      store.ledger.size(),
      store.objects.count(),
    ]);
    await sleep(50);
    release();
    await expect(tx).rejects.toBe(boom);
    expect(await outside).toEqual([undefined, 0, 0]);
  });

  it("runs concurrent transactions without losing writes, one at a time where it cannot isolate them", async () => {
    const store = await fresh();
    const trace: string[] = [];
    const names = ["a", "b", "c", "d"];
    await Promise.all(
      names.map((name, i) =>
        store.transaction(async (tx) => {
          trace.push(`${name}:begin`);
          await tx.ledger.append(testEntry(i, { at: T0, kind: "share", tag: name }));
          await sleep(5);
          await tx.objects.put(stored(indicator(`indicator--${uuid(i)}`, at(1))));
          trace.push(`${name}:end`);
        }),
      ),
    );
    expect(await store.objects.count()).toBe(4);
    await expectIntactLedger(store, 4);
    if (store.kind === "sqlite") {
      expect(trace, "sqlite runs transactions one at a time").toEqual(
        names.flatMap((n) => [`${n}:begin`, `${n}:end`]),
      );
    }
  });

  it("commits a group of write plans in order in one transaction, counting what each stored", async () => {
    const store = await fresh();
    const objects = [1, 2, 3].map((n) => stored(indicator(`indicator--${uuid(n)}`, at(1))));
    await store.objects.put(objects[0]!);
    const { stored: _, ...counted } = testEntry(3, { at: T0 }).data;
    const copy = {
      objectId: objects[1]!.object.id,
      sentAs: objects[1]!.object.id,
      version: at(1),
      recipient: "XB",
      envelopeId: "taxii:xb-reader",
      agreement: "agreement-ab v1",
      purpose: "testing",
      sharedAt: T0,
      credential: "xb-reader",
    };
    const status = { id: uuid(7), owner: "operator", createdAt: T0, body: { total_count: 3 } };
    await store.commitPlans([
      [
        { op: "putObjects", objects, counted: { kind: "ingest", at: T0, data: counted } },
        { op: "putStatus", status },
      ],
      [
        { op: "append", entry: testEntry(9, { at: T0, kind: "share" }) },
        { op: "recordCopies", copies: [copy] },
      ],
    ]);
    for (const o of objects) expect(await store.objects.get(o.object.id)).toStrictEqual(o);
    const entries = await expectIntactLedger(store, 2);
    // The first object was held already: two of three were stored.
    expect(entries.map((e) => [e.kind, e.data.stored])).toEqual([
      ["ingest", 2],
      ["share", undefined],
    ]);
    expect(await store.taxii.getStatus(status.id)).toEqual(status);
    expect(await store.recalls.copiesOf(copy.objectId)).toEqual([copy]);
  });

  it("counts each new object version once: repeated in one step, in a later plan of the group, and in a plan run alone", async () => {
    const store = await fresh();
    const a = indicator(`indicator--${uuid(1)}`, at(2));
    const olderA = indicator(`indicator--${uuid(1)}`, at(1));
    const b = indicator(`indicator--${uuid(2)}`, at(1));
    const { stored: _, ...data } = testEntry(3, { at: T0 }).data;
    const step = (objects: StixObject[]) =>
      ({
        op: "putObjects",
        objects: objects.map((o) => stored(o)),
        counted: { kind: "ingest", at: T0, data },
      }) as const;
    // a twice (the same version repeated, as a bundle may), its earlier version, then b.
    const n = await store.transaction((tx) => runWritePlan(tx, [step([a, a, olderA, b, b])]));
    expect(n, "runWritePlan's count").toBe(3);
    await store.commitPlans([
      [step([b, indicator(`indicator--${uuid(3)}`, at(1))])],
      [step([indicator(`indicator--${uuid(3)}`, at(1)), a])],
    ]);
    const entries = await expectIntactLedger(store, 3);
    expect(entries.map((e) => e.data.stored)).toEqual([3, 1, 0]);
    expect(await store.objects.count(), "versions stored").toBe(4);
    expect((await store.objects.versions(a.id)).length).toBe(2);
  });

  it("writes nothing of a group of plans when one of them fails", async () => {
    const store = await fresh();
    const status = { id: uuid(7), owner: "operator", createdAt: T0, body: {} };
    await store.commitPlans([[{ op: "putStatus", status }]]);
    const object = stored(indicator(`indicator--${uuid(1)}`, at(1)));
    await expectCode(
      store.commitPlans([
        [
          { op: "putObjects", objects: [object] },
          { op: "append", entry: testEntry(0, { at: T0 }) },
        ],
        // A status id is written once: this plan fails after the first plan's writes.
        [{ op: "putStatus", status }],
      ]),
      "ERR_STORAGE",
    );
    expect(await store.objects.count()).toBe(0);
    expect(await store.ledger.size()).toBe(0);
    // And the store goes on: the same first plan alone commits.
    await store.commitPlans([[{ op: "putObjects", objects: [object] }]]);
    expect(await store.objects.count()).toBe(1);
  });

  it("refuses the store's own methods inside a transaction's body, and its repos after it ends", async () => {
    const store = await fresh();
    await expect(store.transaction(() => store.objects.get("x"))).rejects.toBeInstanceOf(TypeError);
    await expect(
      store.transaction(() => store.ledger.append(testEntry(0, { at: T0 }))),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(
      store.transaction(() => store.transaction(() => Promise.resolve(1))),
    ).rejects.toBeInstanceOf(TypeError);
    let leaked: Repos | undefined;
    await store.transaction((tx) => {
      leaked = tx;
      return Promise.resolve();
    });
    await expect(leaked!.objects.count()).rejects.toBeInstanceOf(TypeError);
    await expect(leaked!.ledger.append(testEntry(0, { at: T0 }))).rejects.toBeInstanceOf(TypeError);
    // And the store still works.
    expect(await store.ledger.size()).toBe(0);
    await store.ledger.append(testEntry(0, { at: T0 }));
    await expectIntactLedger(store, 1);
  });
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

function lifecycleTests(fresh: Open, persistent: boolean): void {
  const needsPersistence = (title: string): string =>
    persistent ? title : `${title} (skipped: this store does not outlive close)`;

  it("migrates idempotently and reports the schema version", async () => {
    const store = await fresh();
    await store.objects.put(stored(indicator(`indicator--${uuid(1)}`, at(1))));
    const version = await store.migrate();
    expect(Number.isSafeInteger(version) && version >= 1, "a positive version").toBe(true);
    expect(await store.migrate()).toBe(version);
    expect(await store.objects.count()).toBe(1);
    expect(typeof store.kind === "string" && store.kind.length > 0, "names its kind").toBe(true);
  });

  it("closes idempotently, and a closed store refuses work with ERR_STORAGE", async () => {
    const store = await fresh();
    await store.close();
    await store.close();
    await expectCode(store.objects.count(), "ERR_STORAGE");
    await expectCode(store.ledger.append(testEntry(0, { at: T0 })), "ERR_STORAGE");
    await expectCode(
      store.transaction(() => Promise.resolve(1)),
      "ERR_STORAGE",
    );
  });

  it.skipIf(!persistent)(
    needsPersistence("keeps every committed write across close and reopen"),
    async () => {
      const first = await fresh();
      const object = stored(
        indicator(`indicator--${uuid(1)}`, at(1), AWKWARD),
        receivedVia("env-1"),
      );
      await first.objects.put(object);
      const entry = await first.ledger.append(testEntry(1, { at: T0 }));
      await first.outbox.enqueue(outboxItem("env-2", T0));
      await first.peers.upsert(peer("node-b", "https://b.example"));
      await first.agreements.put(agreement("agreement-ab", 1));
      const version = await first.migrate();
      await first.close();

      const second = await fresh();
      expect(await second.migrate()).toBe(version);
      expect(await second.objects.get(object.object.id)).toStrictEqual(object);
      expect(await second.ledger.list(0, 10)).toStrictEqual([entry]);
      expect(await second.outbox.get("env-2")).toMatchObject({ status: "pending" });
      expect(await second.peers.get("node-b")).toStrictEqual(peer("node-b", "https://b.example"));
      expect(await second.agreements.get("agreement-ab", 1)).toStrictEqual(
        agreement("agreement-ab", 1),
      );
      const next = await second.ledger.append(testEntry(1, { at: T0, kind: "share" }));
      expect(next.seq).toBe(entry.seq + 1);
      await expectIntactLedger(second, entry.seq + 2);
    },
  );

  it.skipIf(!persistent)(
    "lets two stores opened at once over the same data share one chain",
    async () => {
      const [a, b] = await Promise.all([fresh(), fresh()]);
      await Promise.all(
        range(20).map((i) =>
          (i % 2 === 0 ? a : b).ledger.append(testEntry(i, { at: T0, kind: "share" })),
        ),
      );
      await expectIntactLedger(a, 20);
      await expectIntactLedger(b, 20);
    },
  );
}
