/**
 * The node's Merkle log over SQLite (spec/log.md, "Storage"): the `LedgerRepo` port.
 *
 * Tables (migration 2): `log_entries` (index, canonical entry text, leaf hash), `log_tiles`
 * (C2SP tlog-tiles: tile level and index -> up to 256 concatenated 32-byte hashes of Merkle level
 * 8 * level), `log_state` (one row: tree size and frontier) and `log_checkpoints`.
 *
 * Flow: an append inside a transaction takes the next index at once (the store's lock and
 * BEGIN IMMEDIATE make the index final) and queues the leaf; `flush`, which the store runs just
 * before COMMIT, writes the queued entries, restores the tree from its stored frontier, appends the
 * leaf hashes and extends each tile the batch touched with the hashes it completed. Nothing is
 * recomputed: one batch costs its own leaves, about one node hash each, and one write per tile
 * touched. An append outside a transaction is a batch of one in its own transaction.
 *
 * Risks: a tile whose stored length does not end where the next hash goes means the tables were
 * edited or damaged; flush refuses with ERR_STORAGE rather than extend it.
 */
import type { Database } from "better-sqlite3";
import type {
  LedgerEntry,
  LedgerRepo,
  StoredCheckpoint,
  StoredCosignature,
} from "../../app/ports.js";
import { appendedLogEntry, decodeLogEntry, logEntryText } from "../../core/log-entry.js";
import { checkLogEntry } from "../../core/log-kinds.js";
import { AccordError } from "../../errors.js";
import { CompactTree, leafHashOfText } from "../../tlog/index.js";
import type { Exec } from "./rows.js";

const HASH = 32;
const INSERT_ROWS = 64;
const utf8 = new TextEncoder();

interface EntryRow {
  idx: number;
  entry: string;
  leaf_hash: Buffer;
}

interface CheckpointRow {
  size: number;
  note: string;
  created_at: string;
}

interface CosignatureRow {
  size: number;
  witness: string;
  key_id: number;
  timestamp: number;
  line: string;
  received_at: string;
}

/**
 * An entry's kind as migration 14 indexed it: an expression over the entry text, evaluated (JSON
 * parse included) on every insert. Kept only because migration 14's text must not change;
 * migration 20 replaced the index with a plain column.
 */
const KIND_14 = "(CASE WHEN json_valid(entry) THEN json_extract(entry, '$.kind') END)";

/**
 * Migration 14 (spec/log.md, "Witnesses"): witnesses' cosignatures of this node's checkpoints,
 * and an index on each entry's kind so witness state and alarms are found without a scan.
 */
export const LOG_COSIGNATURES_MIGRATION_SQL = `
  CREATE TABLE log_cosignatures (
    size        INTEGER NOT NULL CHECK (size >= 0),
    witness     TEXT NOT NULL,
    key_id      INTEGER NOT NULL CHECK (key_id >= 0 AND key_id <= 4294967295),
    timestamp   INTEGER NOT NULL CHECK (timestamp >= 0),
    line        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (size, witness, key_id)
  ) STRICT;
  CREATE INDEX log_cosignatures_by_witness ON log_cosignatures (witness, key_id, size);
  CREATE INDEX log_entries_by_kind ON log_entries (${KIND_14}, idx);
`;

/**
 * Migration 20 (spec/log.md, "Storage"): each entry's kind in a column of its own, written by
 * append from the entry it has just checked, and indexed; migration 14's expression index parsed
 * the entry text as JSON on every insert (a quarter of an append's time). Existing rows get their
 * kind from their text, the way the old index read it (a row that is not JSON, or whose kind is
 * not a string, gets none; verification reports such rows anyway). One transaction, like every
 * migration.
 */
export const LOG_KIND_COLUMN_MIGRATION_SQL = `
  ALTER TABLE log_entries ADD COLUMN kind TEXT;
  UPDATE log_entries SET kind = CASE
    WHEN json_valid(entry) AND json_type(entry, '$.kind') = 'text' THEN json_extract(entry, '$.kind')
  END;
  DROP INDEX log_entries_by_kind;
  CREATE INDEX log_entries_by_kind ON log_entries (kind, idx);
`;

const COSIGNATURE_COLUMNS = "size, witness, key_id, timestamp, line, received_at";

export function prepareLogStatements(db: Database) {
  return {
    size: db.prepare<[], { size: number }>("SELECT size FROM log_state"),
    state: db.prepare<[], { size: number; frontier: Buffer }>(
      "SELECT size, frontier FROM log_state",
    ),
    setState: db.prepare<[number, Buffer]>("UPDATE log_state SET size = ?, frontier = ?"),
    insert: db.prepare<[number, string, Buffer, string]>(
      "INSERT INTO log_entries (idx, entry, leaf_hash, kind) VALUES (?, ?, ?, ?)",
    ),
    // One statement per INSERT_ROWS entries: a large batch costs fewer statement executions.
    insertMany: db.prepare<(number | string | Buffer)[]>(
      `INSERT INTO log_entries (idx, entry, leaf_hash, kind) VALUES ${Array.from(
        { length: INSERT_ROWS },
        () => "(?, ?, ?, ?)",
      ).join(", ")}`,
    ),
    list: db.prepare<[number, number, number], EntryRow>(
      "SELECT idx, entry, leaf_hash FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx LIMIT ?",
    ),
    tile: db.prepare<[number, number], { hashes: Buffer }>(
      "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?",
    ),
    putTile: db.prepare<[number, number, Buffer]>(
      `INSERT INTO log_tiles (level, idx, hashes) VALUES (?, ?, ?)
       ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes`,
    ),
    putCheckpoint: db.prepare<[number, string, string]>(
      `INSERT INTO log_checkpoints (size, note, created_at) VALUES (?, ?, ?)
       ON CONFLICT (size) DO NOTHING`,
    ),
    latestCheckpoint: db.prepare<[], CheckpointRow>(
      "SELECT size, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
    ),
    checkpoints: db.prepare<[number, number], CheckpointRow>(
      "SELECT size, note, created_at FROM log_checkpoints WHERE size >= ? ORDER BY size LIMIT ?",
    ),
    ofKind: db.prepare<[string, number, number], EntryRow>(
      `SELECT idx, entry, leaf_hash FROM log_entries
       WHERE kind = ? AND idx >= ? AND idx < (SELECT size FROM log_state) ORDER BY idx LIMIT ?`,
    ),
    ofKindDesc: db.prepare<[string, number, number], EntryRow>(
      `SELECT idx, entry, leaf_hash FROM log_entries
       WHERE kind = ? AND idx <= ? AND idx < (SELECT size FROM log_state)
       ORDER BY idx DESC LIMIT ?`,
    ),
    putCosignature: db.prepare<[number, string, number, number, string, string]>(
      `INSERT INTO log_cosignatures (${COSIGNATURE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (size, witness, key_id) DO UPDATE SET
         timestamp = excluded.timestamp, line = excluded.line, received_at = excluded.received_at
       WHERE excluded.timestamp > log_cosignatures.timestamp`,
    ),
    cosignatures: db.prepare<[number], CosignatureRow>(
      `SELECT ${COSIGNATURE_COLUMNS} FROM log_cosignatures WHERE size = ? ORDER BY witness, key_id`,
    ),
    latestCosignatures: db.prepare<[], CosignatureRow>(
      `SELECT c.size, c.witness, c.key_id, c.timestamp, c.line, c.received_at
       FROM log_cosignatures c
       JOIN (SELECT witness, key_id, max(size) AS size FROM log_cosignatures
             GROUP BY witness, key_id) m
         ON c.witness = m.witness AND c.key_id = m.key_id AND c.size = m.size
       ORDER BY c.witness, c.key_id`,
    ),
  };
}

export type LogStatements = ReturnType<typeof prepareLogStatements>;

interface Pending {
  readonly text: string;
  readonly leaf: Uint8Array;
  /** The entry's kind, for the kind column (migration 20). */
  readonly kind: string;
}

/** A log session: the repo a transaction (or the store) uses, and the flush run before COMMIT. */
export interface SqliteLog {
  readonly repo: LedgerRepo;
  /** Integrates the queued appends (inside the transaction, before COMMIT). */
  flush(): Promise<void>;
}

export function sqliteLog(s: LogStatements, exec: Exec, inTransaction: boolean): SqliteLog {
  let base: number | undefined;
  let pending: Pending[] = [];

  const integrateNow = (): void => {
    if (pending.length === 0) return;
    integrate(s, base ?? 0, pending);
    pending = [];
    base = undefined;
  };
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    await exec.atomic("could not integrate the log", integrateNow);
  };

  const repo: LedgerRepo = {
    async append(entry) {
      checkLogEntry(entry);
      const text = logEntryText(entry);
      const leaf = leafHashOfText(text);
      const out = (seq: number): LedgerEntry => appendedLogEntry(seq, entry, text, leaf);
      if (!inTransaction) {
        // Its own transaction: index, entry, tiles and state commit together.
        return exec.atomic("could not append to the log", () => {
          const at = s.size.get()?.size ?? missingState();
          integrate(s, at, [{ text, leaf, kind: entry.kind }]);
          return out(at);
        });
      }
      return exec.run("could not append to the log", () => {
        base ??= s.size.get()?.size ?? missingState();
        const seq = base + pending.length;
        pending.push({ text, leaf, kind: entry.kind });
        return out(seq);
      });
    },
    async list(from, limit) {
      checkIndex(from, "from");
      checkIndex(limit, "limit");
      await flush();
      const rows = await exec.run("could not read the log", () => {
        const size = s.size.get()?.size ?? 0;
        return s.list.all(from, size, limit);
      });
      return rows.map(toEntry);
    },
    async size() {
      await flush();
      return exec.run("could not read the log", () => s.size.get()?.size ?? 0);
    },
    async entries(from, count) {
      checkIndex(from, "from");
      checkIndex(count, "count");
      await flush();
      const rows = await exec.run("could not read the log", () =>
        s.list.all(from, Number.MAX_SAFE_INTEGER, count),
      );
      return rows.map((r) => ({ seq: r.idx, bytes: utf8.encode(r.entry) }));
    },
    async tile(level, index) {
      checkIndex(level, "level");
      checkIndex(index, "index");
      await flush();
      const row = await exec.run("could not read the log", () => s.tile.get(level, index));
      return row === undefined ? new Uint8Array(0) : new Uint8Array(row.hashes);
    },
    async state() {
      await flush();
      const row = await exec.run("could not read the log", () => s.state.get());
      if (row === undefined) return missingState();
      return { size: row.size, frontier: splitHashes(row.frontier) };
    },
    async putCheckpoint(c) {
      checkIndex(c.size, "size");
      await exec.run("could not store the checkpoint", () =>
        s.putCheckpoint.run(c.size, c.note, c.createdAt),
      );
    },
    async latestCheckpoint() {
      const row = await exec.run("could not read the checkpoints", () => s.latestCheckpoint.get());
      return row === undefined ? undefined : toCheckpoint(row);
    },
    async checkpoints(from, limit) {
      checkIndex(from, "from");
      checkIndex(limit, "limit");
      const rows = await exec.run("could not read the checkpoints", () =>
        s.checkpoints.all(from, limit),
      );
      return rows.map(toCheckpoint);
    },
    async ofKind(kind, query) {
      checkIndex(query.limit, "limit");
      if (query.from !== undefined) checkIndex(query.from, "from");
      await flush();
      const rows = await exec.run("could not read the log", () =>
        query.newestFirst === true
          ? s.ofKindDesc.all(kind, query.from ?? Number.MAX_SAFE_INTEGER, query.limit)
          : s.ofKind.all(kind, query.from ?? 0, query.limit),
      );
      return rows.map((r) => ofKindEntry(r, kind));
    },
    async putCosignature(c) {
      checkIndex(c.size, "size");
      checkIndex(c.timestamp, "timestamp");
      await exec.run("could not store the cosignature", () =>
        s.putCosignature.run(c.size, c.witness, c.keyId, c.timestamp, c.line, c.receivedAt),
      );
    },
    async cosignatures(size) {
      checkIndex(size, "size");
      const rows = await exec.run("could not read the cosignatures", () =>
        s.cosignatures.all(size),
      );
      return rows.map(toCosignature);
    },
    async latestCosignatures() {
      const rows = await exec.run("could not read the cosignatures", () =>
        s.latestCosignatures.all(),
      );
      return rows.map(toCosignature);
    },
  };
  return { repo, flush };
}

/** Writes `batch` at indexes from `at` and extends the tree and its tiles (one transaction). */
function integrate(s: LogStatements, at: number, batch: readonly Pending[]): void {
  const state = s.state.get() ?? missingState();
  if (state.size !== at) {
    throw new AccordError("ERR_STORAGE", "the log grew under a transaction; the store is damaged");
  }
  const tree = CompactTree.restore(state.size, splitHashes(state.frontier));
  // Tile key -> the hashes this batch adds to it, and where the first one goes.
  const touched = new Map<
    string,
    { level: number; index: number; offset: number; add: Uint8Array[] }
  >();
  const sink = (level: number, index: number, hash: Uint8Array): void => {
    if (level % 8 !== 0) return;
    const tileLevel = level / 8;
    const tileIndex = Math.floor(index / 256);
    const key = `${String(tileLevel)}/${String(tileIndex)}`;
    let t = touched.get(key);
    if (t === undefined) {
      t = { level: tileLevel, index: tileIndex, offset: index % 256, add: [] };
      touched.set(key, t);
    }
    t.add.push(hash);
  };
  const full = batch.length - (batch.length % INSERT_ROWS);
  let values: (number | string | Buffer)[] = [];
  batch.forEach((p, k) => {
    const leaf = Buffer.from(p.leaf.buffer, p.leaf.byteOffset, HASH);
    if (k >= full) {
      s.insert.run(at + k, p.text, leaf, p.kind);
      return;
    }
    values.push(at + k, p.text, leaf, p.kind);
    if (values.length === 4 * INSERT_ROWS) {
      s.insertMany.run(...values);
      values = [];
    }
  });
  for (const p of batch) tree.append(p.leaf, sink);
  for (const t of touched.values()) {
    const old = s.tile.get(t.level, t.index)?.hashes ?? Buffer.alloc(0);
    if (old.length !== t.offset * HASH) {
      throw new AccordError(
        "ERR_STORAGE",
        `log tile ${String(t.level)}/${String(t.index)} holds ${String(old.length / HASH)} hashes where ${String(t.offset)} were expected; the log is damaged`,
      );
    }
    s.putTile.run(t.level, t.index, Buffer.concat([old, ...t.add]));
  }
  s.setState.run(tree.size, Buffer.concat(tree.frontier()));
}

function toEntry(r: EntryRow): LedgerEntry {
  const e = decodeLogEntry(r.entry);
  if (e === undefined) {
    throw new AccordError("ERR_STORAGE", `log entry ${String(r.idx)} is damaged`);
  }
  return {
    seq: r.idx,
    at: e.at,
    kind: e.kind,
    data: e.data,
    leafHash: r.leaf_hash.toString("hex"),
  };
}

/** A row found by its kind column: its text must say the same kind, or the row was edited. */
function ofKindEntry(r: EntryRow, kind: string): LedgerEntry {
  const e = toEntry(r);
  if (e.kind !== kind) {
    throw new AccordError(
      "ERR_STORAGE",
      `log entry ${String(r.idx)} is damaged: its kind column says \`${kind}\`, its text \`${e.kind}\``,
    );
  }
  return e;
}

function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  return { size: r.size, note: r.note, createdAt: r.created_at };
}

function toCosignature(r: CosignatureRow): StoredCosignature {
  return {
    size: r.size,
    witness: r.witness,
    keyId: r.key_id,
    timestamp: r.timestamp,
    line: r.line,
    receivedAt: r.received_at,
  };
}

function splitHashes(blob: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + HASH <= blob.length; o += HASH)
    out.push(new Uint8Array(blob.subarray(o, o + HASH)));
  return out;
}

function missingState(): never {
  throw new AccordError("ERR_STORAGE", "the log state row is missing; the schema is damaged");
}

function checkIndex(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(n)}`);
  }
}

/**
 * Carries the rows of the walking skeleton's hash-chained ledger (renamed `ledger_v1` by migration
 * 2) into the log once: each row becomes an entry with its kind, time and data, in seq order,
 * followed by a `ledger-carried-over` entry naming the old chain's length and head hash; then the
 * table is renamed `ledger_v1_carried` (kept as evidence). Runs in one transaction on open.
 */
export function carryOverLedgerV1(db: Database): void {
  const exists = db
    .prepare<[], { n: number }>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'ledger_v1'",
    )
    .get();
  if ((exists?.n ?? 0) === 0) return;
  const s = prepareLogStatements(db);
  db.transaction(() => {
    const rows = db
      .prepare<[], { seq: number; at: string; kind: string; data: string; hash: string }>(
        "SELECT seq, at, kind, data, hash FROM ledger_v1 ORDER BY seq",
      )
      .all();
    if (rows.length > 0) {
      const batch: Pending[] = rows.map((r) => {
        const text = logEntryText({
          kind: r.kind,
          at: r.at,
          data: JSON.parse(r.data) as Record<string, unknown>,
        });
        return { text, leaf: leafHashOfText(text), kind: r.kind };
      });
      const last = rows[rows.length - 1];
      const text = logEntryText({
        kind: "ledger-carried-over",
        at: last?.at ?? "",
        data: { entries: rows.length, headHash: last?.hash ?? "" },
      });
      batch.push({ text, leaf: leafHashOfText(text), kind: "ledger-carried-over" });
      integrate(s, s.size.get()?.size ?? missingState(), batch);
    }
    db.exec("ALTER TABLE ledger_v1 RENAME TO ledger_v1_carried");
  }).immediate();
}
