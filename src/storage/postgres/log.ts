/**
 * The node's Merkle log over PostgreSQL (spec/log.md, "Storage"): the `LedgerRepo` port.
 *
 * Tables (migration 2): `log_entries` (index, canonical entry text, leaf hash), `log_tiles`
 * (C2SP tlog-tiles: tile level and index -> up to 256 concatenated 32-byte hashes of Merkle level
 * 8 * level), `log_state` (one row: tree size and frontier) and `log_checkpoints`.
 *
 * Flow: the first append of a transaction locks the state row (SELECT ... FOR UPDATE), which
 * serialises appending transactions across connections and processes and makes the indexes it
 * hands out final; appends queue their leaves. `flush`, run by the store just before COMMIT,
 * inserts the queued entries in one statement, restores the tree from its stored frontier,
 * appends the leaf hashes and extends each tile the batch touched with the hashes it completed.
 * Nothing is recomputed. An append outside a transaction is a batch of one in its own transaction.
 *
 * Risks: a tile whose stored length does not end where the next hash goes means the tables were
 * edited or damaged; flush refuses with ERR_STORAGE rather than extend it.
 */
import type { QueryResultRow } from "pg";
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
import type { Exec, Query, Sql } from "./sql.js";

const HASH = 32;
const utf8 = new TextEncoder();

function sql<R extends QueryResultRow = Record<string, never>>(name: string, text: string): Sql<R> {
  return { name: `accord_log_${name}`, text };
}

interface EntryRow {
  idx: string;
  entry: string;
  leaf_hash: Buffer;
}

interface CheckpointRow {
  size: string;
  note: string;
  created_at: string;
}

interface CosignatureRow {
  size: string;
  witness: string;
  key_id: string;
  timestamp: string;
  line: string;
  received_at: string;
}

/**
 * An entry's kind as migration 14 indexed it: read from the end of the canonical text, where the
 * envelope's `"kind":"<kind>","v":1}` always is (RFC 8785 orders `at`, `data`, `kind`, `v`). A
 * regular expression rather than a jsonb cast, so that a row that is not JSON (a damaged or edited
 * one) is still stored and then reported by verification rather than refused by the index.
 * Migration 20 replaced the index with a plain column and fills it for existing rows with this
 * same expression.
 */
const KIND_14 = `substring(entry from '"kind":"([a-z][a-z0-9-]*)","v":1}$')`;

/**
 * Migration 14 (spec/log.md, "Witnesses"): witnesses' cosignatures of this node's checkpoints,
 * and an index on each entry's kind so witness state and alarms are found without a scan.
 */
export const LOG_COSIGNATURES_MIGRATION_SQL = `
  CREATE TABLE log_cosignatures (
    size        bigint NOT NULL CHECK (size >= 0),
    witness     text COLLATE "C" NOT NULL,
    key_id      bigint NOT NULL CHECK (key_id >= 0 AND key_id <= 4294967295),
    timestamp   bigint NOT NULL CHECK (timestamp >= 0),
    line        text NOT NULL,
    received_at text NOT NULL,
    PRIMARY KEY (size, witness, key_id)
  );
  CREATE INDEX log_cosignatures_by_witness ON log_cosignatures (witness, key_id, size);
  CREATE INDEX log_entries_by_kind ON log_entries ((${KIND_14}), idx);
`;

/**
 * Migration 20 (spec/log.md, "Storage"): each entry's kind in a column of its own, written by
 * append from the entry it has just checked, and indexed, in place of migration 14's index on an
 * expression over the entry text (a regular expression run on every insert). Existing rows get
 * their kind from their text as the old index read it (a damaged row may get none; verification
 * reports such rows anyway). One transaction, like every migration.
 */
export const LOG_KIND_COLUMN_MIGRATION_SQL = `
  ALTER TABLE log_entries ADD COLUMN kind text COLLATE "C";
  UPDATE log_entries SET kind = ${KIND_14};
  DROP INDEX log_entries_by_kind;
  CREATE INDEX log_entries_by_kind ON log_entries (kind, idx);
`;

const COSIGNATURE_COLUMNS = "size, witness, key_id, timestamp, line, received_at";

const S = {
  size: sql<{ size: string }>("size", "SELECT size FROM log_state"),
  lock: sql<{ size: string }>("lock", "SELECT size FROM log_state FOR UPDATE"),
  state: sql<{ size: string; frontier: Buffer }>("state", "SELECT size, frontier FROM log_state"),
  setState: sql("set_state", "UPDATE log_state SET size = $1, frontier = $2"),
  insert: sql(
    "insert",
    `INSERT INTO log_entries (idx, entry, leaf_hash, kind)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::bytea[], $4::text[])`,
  ),
  list: sql<EntryRow>(
    "list",
    `SELECT idx, entry, leaf_hash FROM log_entries
     WHERE idx >= $1 AND idx < (SELECT size FROM log_state) ORDER BY idx LIMIT $2`,
  ),
  rawList: sql<EntryRow>(
    "raw_list",
    "SELECT idx, entry, leaf_hash FROM log_entries WHERE idx >= $1 ORDER BY idx LIMIT $2",
  ),
  tile: sql<{ hashes: Buffer }>(
    "tile",
    "SELECT hashes FROM log_tiles WHERE level = $1 AND idx = $2",
  ),
  putTile: sql(
    "put_tile",
    `INSERT INTO log_tiles (level, idx, hashes) VALUES ($1, $2, $3)
     ON CONFLICT (level, idx) DO UPDATE SET hashes = excluded.hashes`,
  ),
  putCheckpoint: sql(
    "put_checkpoint",
    `INSERT INTO log_checkpoints (size, note, created_at) VALUES ($1, $2, $3)
     ON CONFLICT (size) DO NOTHING`,
  ),
  latestCheckpoint: sql<CheckpointRow>(
    "latest_checkpoint",
    "SELECT size, note, created_at FROM log_checkpoints ORDER BY size DESC LIMIT 1",
  ),
  checkpoints: sql<CheckpointRow>(
    "checkpoints",
    "SELECT size, note, created_at FROM log_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
  ),
  ofKind: sql<EntryRow>(
    "of_kind",
    `SELECT idx, entry, leaf_hash FROM log_entries
     WHERE kind = $1 AND idx >= $2 AND idx < (SELECT size FROM log_state)
     ORDER BY idx LIMIT $3`,
  ),
  ofKindDesc: sql<EntryRow>(
    "of_kind_desc",
    `SELECT idx, entry, leaf_hash FROM log_entries
     WHERE kind = $1 AND idx <= $2 AND idx < (SELECT size FROM log_state)
     ORDER BY idx DESC LIMIT $3`,
  ),
  putCosignature: sql(
    "put_cosignature",
    `INSERT INTO log_cosignatures (${COSIGNATURE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (size, witness, key_id) DO UPDATE SET
       timestamp = excluded.timestamp, line = excluded.line, received_at = excluded.received_at
     WHERE excluded.timestamp > log_cosignatures.timestamp`,
  ),
  cosignatures: sql<CosignatureRow>(
    "cosignatures",
    `SELECT ${COSIGNATURE_COLUMNS} FROM log_cosignatures WHERE size = $1 ORDER BY witness, key_id`,
  ),
  latestCosignatures: sql<CosignatureRow>(
    "latest_cosignatures",
    `SELECT DISTINCT ON (witness, key_id) ${COSIGNATURE_COLUMNS} FROM log_cosignatures
     ORDER BY witness, key_id, size DESC`,
  ),
} as const;

interface Pending {
  readonly text: string;
  readonly leaf: Uint8Array;
  /** The entry's kind, for the kind column (migration 20). */
  readonly kind: string;
}

/** A log session: the repo a transaction (or the store) uses, and the flush run before COMMIT. */
export interface PostgresLog {
  readonly repo: LedgerRepo;
  /** Integrates the queued appends (inside the transaction, before COMMIT). */
  flush(): Promise<void>;
}

export function postgresLog(exec: Exec, inTransaction: boolean): PostgresLog {
  let base: Promise<number> | undefined;
  let pending: Pending[] = [];

  const flush = async (): Promise<void> => {
    if (base === undefined) return;
    const at = await base;
    const batch = pending;
    pending = [];
    base = undefined;
    if (batch.length === 0) return;
    await exec.atomic((q) => integrate(q, at, batch));
  };

  const repo: LedgerRepo = {
    async append(entry) {
      checkLogEntry(entry);
      const text = logEntryText(entry);
      const leaf = leafHashOfText(text);
      const out = (seq: number): LedgerEntry => appendedLogEntry(seq, entry, text, leaf);
      if (!inTransaction) {
        return exec.atomic(async (q) => {
          const { rows } = await q("could not append to the log", S.lock, []);
          const at = Number(rows[0]?.size ?? missingState());
          await integrate(q, at, [{ text, leaf, kind: entry.kind }]);
          return out(at);
        });
      }
      // Locking the state row serialises appending transactions; appends in this one queue.
      base ??= exec
        .query("could not append to the log", S.lock, [])
        .then(({ rows }) => Number(rows[0]?.size ?? missingState()));
      const mine = pending.length;
      pending.push({ text, leaf, kind: entry.kind });
      return out((await base) + mine);
    },
    async list(from, limit) {
      nonNegative(from, "from");
      nonNegative(limit, "limit");
      await flush();
      const { rows } = await exec.query("could not read the log", S.list, [from, limit]);
      return rows.map(toEntry);
    },
    async size() {
      await flush();
      const { rows } = await exec.query("could not read the log", S.size, []);
      return Number(rows[0]?.size ?? 0);
    },
    async entries(from, count) {
      nonNegative(from, "from");
      nonNegative(count, "count");
      await flush();
      const { rows } = await exec.query("could not read the log", S.rawList, [from, count]);
      return rows.map((r) => ({ seq: Number(r.idx), bytes: utf8.encode(r.entry) }));
    },
    async tile(level, index) {
      nonNegative(level, "level");
      nonNegative(index, "index");
      await flush();
      const { rows } = await exec.query("could not read the log", S.tile, [level, index]);
      const row = rows[0];
      return row === undefined ? new Uint8Array(0) : new Uint8Array(row.hashes);
    },
    async state() {
      await flush();
      const { rows } = await exec.query("could not read the log", S.state, []);
      const row = rows[0];
      if (row === undefined) return missingState();
      return { size: Number(row.size), frontier: splitHashes(row.frontier) };
    },
    async putCheckpoint(c) {
      nonNegative(c.size, "size");
      await exec.query("could not store the checkpoint", S.putCheckpoint, [
        c.size,
        c.note,
        c.createdAt,
      ]);
    },
    async latestCheckpoint() {
      const { rows } = await exec.query("could not read the checkpoints", S.latestCheckpoint, []);
      const row = rows[0];
      return row === undefined ? undefined : toCheckpoint(row);
    },
    async checkpoints(from, limit) {
      nonNegative(from, "from");
      nonNegative(limit, "limit");
      const { rows } = await exec.query("could not read the checkpoints", S.checkpoints, [
        from,
        limit,
      ]);
      return rows.map(toCheckpoint);
    },
    async ofKind(kind, query) {
      nonNegative(query.limit, "limit");
      if (query.from !== undefined) nonNegative(query.from, "from");
      await flush();
      const { rows } =
        query.newestFirst === true
          ? await exec.query("could not read the log", S.ofKindDesc, [
              kind,
              query.from ?? Number.MAX_SAFE_INTEGER,
              query.limit,
            ])
          : await exec.query("could not read the log", S.ofKind, [
              kind,
              query.from ?? 0,
              query.limit,
            ]);
      return rows.map((r) => ofKindEntry(r, kind));
    },
    async putCosignature(c) {
      nonNegative(c.size, "size");
      nonNegative(c.timestamp, "timestamp");
      await exec.query("could not store the cosignature", S.putCosignature, [
        c.size,
        c.witness,
        c.keyId,
        c.timestamp,
        c.line,
        c.receivedAt,
      ]);
    },
    async cosignatures(size) {
      nonNegative(size, "size");
      const { rows } = await exec.query("could not read the cosignatures", S.cosignatures, [size]);
      return rows.map(toCosignature);
    },
    async latestCosignatures() {
      const { rows } = await exec.query(
        "could not read the cosignatures",
        S.latestCosignatures,
        [],
      );
      return rows.map(toCosignature);
    },
  };
  return { repo, flush };
}

/** Writes `batch` at indexes from `at` and extends the tree and its tiles (in one transaction). */
async function integrate(q: Query, at: number, batch: readonly Pending[]): Promise<void> {
  const failure = "could not integrate the log";
  const { rows } = await q(failure, S.state, []);
  const state = rows[0] ?? missingState();
  if (Number(state.size) !== at) {
    throw new AccordError("ERR_STORAGE", "the log grew under a transaction; the store is damaged");
  }
  const tree = CompactTree.restore(at, splitHashes(state.frontier));
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
  for (const p of batch) tree.append(p.leaf, sink);
  await q(failure, S.insert, [
    batch.map((_, i) => at + i),
    batch.map((p) => p.text),
    batch.map((p) => Buffer.from(p.leaf)),
    batch.map((p) => p.kind),
  ]);
  for (const t of touched.values()) {
    const old = (await q(failure, S.tile, [t.level, t.index])).rows[0]?.hashes ?? Buffer.alloc(0);
    if (old.length !== t.offset * HASH) {
      throw new AccordError(
        "ERR_STORAGE",
        `log tile ${String(t.level)}/${String(t.index)} holds ${String(old.length / HASH)} hashes where ${String(t.offset)} were expected; the log is damaged`,
      );
    }
    await q(failure, S.putTile, [t.level, t.index, Buffer.concat([old, ...t.add])]);
  }
  await q(failure, S.setState, [tree.size, Buffer.concat(tree.frontier())]);
}

function toEntry(r: EntryRow): LedgerEntry {
  const e = decodeLogEntry(r.entry);
  if (e === undefined) {
    throw new AccordError("ERR_STORAGE", `log entry ${r.idx} is damaged`);
  }
  return {
    seq: Number(r.idx),
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
      `log entry ${r.idx} is damaged: its kind column says \`${kind}\`, its text \`${e.kind}\``,
    );
  }
  return e;
}

function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  return { size: Number(r.size), note: r.note, createdAt: r.created_at };
}

function toCosignature(r: CosignatureRow): StoredCosignature {
  return {
    size: Number(r.size),
    witness: r.witness,
    keyId: Number(r.key_id),
    timestamp: Number(r.timestamp),
    line: r.line,
    receivedAt: r.received_at,
  };
}

function splitHashes(blob: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + HASH <= blob.length; o += HASH) {
    out.push(new Uint8Array(blob.subarray(o, o + HASH)));
  }
  return out;
}

function missingState(): never {
  throw new AccordError("ERR_STORAGE", "the log state row is missing; the schema is damaged");
}

function nonNegative(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${String(n)}`);
  }
}

/** SQL of migration 2 that carries the walking skeleton's ledger rows over is in migrations.ts;
 * `carryOverLedgerV1` appends them to the log once after migrating (spec/log.md, "Migration"). */
export async function carryOverLedgerV1(exec: Exec): Promise<void> {
  await exec.atomic(async (q) => {
    const legacy = sql<{ n: string }>(
      "legacy_exists",
      "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'ledger_v1'",
    );
    // The log's row lock first, then the look for the legacy table: two stores opening the same
    // schema at once queue here, and the second sees the table already renamed by the first
    // (each statement reads the latest committed state).
    const { rows: lock } = await q("could not carry the ledger over", S.lock, []);
    if (Number((await q("could not carry the ledger over", legacy, [])).rows[0]?.n ?? 0) === 0) {
      return;
    }
    const at = Number(lock[0]?.size ?? missingState());
    const rows = (
      await q(
        "could not carry the ledger over",
        sql<{ seq: string; at: string; kind: string; data: Record<string, unknown>; hash: string }>(
          "legacy_rows",
          "SELECT seq, at, kind, data, hash FROM ledger_v1 ORDER BY seq",
        ),
        [],
      )
    ).rows;
    if (rows.length > 0) {
      const batch: Pending[] = rows.map((r) => {
        const text = logEntryText({ kind: r.kind, at: r.at, data: r.data });
        return { text, leaf: leafHashOfText(text), kind: r.kind };
      });
      const last = rows[rows.length - 1];
      const text = logEntryText({
        kind: "ledger-carried-over",
        at: last?.at ?? "",
        data: { entries: rows.length, headHash: last?.hash ?? "" },
      });
      batch.push({ text, leaf: leafHashOfText(text), kind: "ledger-carried-over" });
      await integrate(q, at, batch);
    }
    await q(
      "could not carry the ledger over",
      sql("legacy_rename", "ALTER TABLE ledger_v1 RENAME TO ledger_v1_carried"),
      [],
    );
  });
}
