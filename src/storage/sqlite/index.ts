/**
 * The embedded store: the ports of src/app/ports.ts over one SQLite file, through better-sqlite3
 * (spec/storage.md, "SQLite").
 *
 * - Durability: WAL journal with `synchronous=FULL`, so a transaction that has returned survives
 *   power loss; `synchronous: "normal"` trades the last commits before a power loss for speed.
 * - Concurrency: better-sqlite3 is synchronous and the ports are async. The store owns one
 *   connection and one FIFO lock. A transaction holds the lock from BEGIN IMMEDIATE until COMMIT
 *   or ROLLBACK, however long its async body takes, and every other call, inside or outside a
 *   transaction, waits for it, so transactions on one store run one at a time and nothing
 *   interleaves with them. Other processes on the same file are kept out by SQLite's own write
 *   lock (BEGIN IMMEDIATE, busy timeout).
 * - A database file this store creates is readable and writable by its owner only (0600), and has
 *   16 KiB pages (SQLite's default is 4 KiB; a file keeps the page size it was created with).
 *   SQLite writes a WAL frame (a page) with two system calls and checkpoints it with one more, and
 *   on the benchmark host system calls, not bytes, are most of a commit's CPU: a store of 16 KiB
 *   pages spent 37-38 us of CPU per object ingesting its first 50,000 objects against 45-46 with
 *   4 KiB, and 50-55 against 56-59 at 300,000 (spec/storage.md, "Page size").
 * - Misuse that would deadlock (calling the store's own methods from inside a transaction's body,
 *   or a transaction's repos after it ended) throws TypeError instead.
 * - Errors: driver failures become AccordError ERR_STORAGE with the driver error as `cause`; a
 *   transaction in which a statement failed never commits, even when its body caught the error.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { chmodSync, existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { Database as Connection, Statement } from "better-sqlite3";
import type {
  AgreementRepo,
  AgreementStateRepo,
  BudgetRepo,
  InboxRepo,
  MatchRepo,
  LedgerRepo,
  ObjectRepo,
  OutboxRepo,
  PeerRepo,
  Repos,
  RecallRepo,
  Store,
  WritePlan,
  TaxiiRepo,
  NonceRepo,
  PeerKeyRepo,
  KeyRepo,
} from "../../app/ports.js";
import { runWritePlans } from "../../app/write-plan.js";
import { AccordError, isAccordError } from "../../errors.js";
import { applyMigrations } from "./migrations.js";
import { Mutex } from "./mutex.js";
import { SqliteWriter, type WriterOptions } from "./writer.js";
import { carryOverLedgerV1, prepareLogStatements, sqliteLog, type LogStatements } from "./log.js";
import { makeRepos, prepareStatements } from "./repos.js";
import type { SqliteRepos, Statements } from "./repos.js";
import type { Exec } from "./rows.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" for a private database that lives as long as the store. */
  readonly path: string;
  /** "full" (default): durable on commit. "normal": faster; a power loss may drop recent commits. */
  readonly synchronous?: "full" | "normal";
  /** How long to wait for another process's write lock before failing, in ms (default 5000). */
  readonly busyTimeoutMs?: number;
  /**
   * Run `commitPlans` on a writer thread with a connection of its own (writer.ts). Default false:
   * it halves the calling thread's CPU per TAXII object but raises the process's total by half
   * (spec/taxii.md, "Writer thread"), which pays only with a core to spare. A ":memory:" database
   * has no file to share and always runs plans on the calling thread.
   */
  readonly writerThread?: boolean;
}

/**
 * WAL bytes after which a commit checkpoints: `wal_autocheckpoint` counts pages, so it is this over
 * the file's page size (2,560 pages of 16 KiB, 10,240 of 4 KiB); SQLite's default is 1,000 pages.
 */
const WAL_CHECKPOINT_BYTES = 40 * 1024 * 1024;
/** The size the WAL file is cut back to when it restarts after a checkpoint (`journal_size_limit`). */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** The state of one `transaction` call, visible to the calls made from its body. */
interface TxState {
  active: boolean;
  failed: boolean;
}

/** Open (creating if needed) and migrate the database at `options.path`. */
export function openSqliteStore(options: SqliteStoreOptions): Promise<Store> {
  return Promise.resolve().then(() => open(options));
}

/** The writer thread's own connection (writer-thread.ts): it runs what it is given itself. */
export function openSqliteWriterStore(options: WriterOptions): Promise<SqliteStore> {
  return Promise.resolve().then(() => open({ ...options, writerThread: false }));
}

function open(options: SqliteStoreOptions): SqliteStore {
  const synchronous = options.synchronous ?? "full";
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError("busyTimeoutMs must be a non-negative integer");
  }

  const inMemory = options.path === ":memory:" || options.path === "";
  const created = !inMemory && !existsSync(options.path);
  let db: Connection;
  try {
    db = new Database(options.path);
    // The file holds shared intelligence: owner-only, like keys. SQLite gives its -wal and -shm
    // files the database file's permissions.
    if (created) chmodSync(options.path, 0o600);
  } catch (e) {
    throw new AccordError("ERR_STORAGE", "could not open the sqlite database", { cause: e });
  }
  try {
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Before anything is written: only an empty database takes a page size (in WAL mode at all).
    if (created) db.pragma(`page_size = ${PAGE_SIZE}`);
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${synchronous === "normal" ? "NORMAL" : "FULL"}`);
    db.pragma("foreign_keys = ON");
    // Checkpoint once the WAL holds 40 MiB instead of SQLite's 1,000 pages: a share chunk commits
    // 2-4 MiB, so the default checkpointed after every chunk or few, copying its pages into the
    // database file and fsyncing both files. Over the longer window a page that several chunks
    // write (the shared_copies index, a delivered envelope's freed pages reused by the next, log
    // tiles) is copied once (spec/storage.md, "Durability"). Each commit's fsync of the WAL is
    // unchanged.
    const pageSize = Number(db.pragma("page_size", { simple: true }));
    db.pragma(`wal_autocheckpoint = ${Math.round(WAL_CHECKPOINT_BYTES / pageSize)}`);
    // A transaction larger than that grows the file; when the WAL restarts it is cut back to this.
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    // Large stores: inserts and lookups by id touch index pages at random-looking places. A 64 MiB page cache and the file mapped into memory keep
    // those lookups off read(2) as the store grows (the default cache is 2 MiB).
    db.pragma("cache_size = -65536");
    db.pragma("mmap_size = 1073741824");
    // Statement journals (every insert that fires a trigger, inside a transaction) and transient
    // indexes live in memory, not in temporary files: a write to a file per statement otherwise.
    db.pragma("temp_store = MEMORY");
    applyMigrations(db);
    carryOverLedgerV1(db);
    const plansHere = inMemory || options.writerThread !== true;
    return new SqliteStore(
      db,
      plansHere ? undefined : { path: options.path, synchronous, busyTimeoutMs },
    );
  } catch (e) {
    db.close();
    throw isAccordError(e)
      ? e
      : new AccordError("ERR_STORAGE", "could not prepare the sqlite database", { cause: e });
  }
}

/** The page size of a database file this store creates (see the module header). */
const PAGE_SIZE = 16 * 1024;

export class SqliteStore implements Store {
  readonly kind = "sqlite";
  readonly objects: ObjectRepo;
  readonly ledger: LedgerRepo;
  readonly outbox: OutboxRepo;
  readonly inbox: InboxRepo;
  readonly peers: PeerRepo;
  readonly agreements: AgreementRepo;
  readonly match: MatchRepo;
  readonly agreementState: AgreementStateRepo;
  readonly budgets: BudgetRepo;
  readonly taxii: TaxiiRepo;
  readonly nonces: NonceRepo;
  readonly peerKeys: PeerKeyRepo;
  readonly keys: KeyRepo;
  readonly recalls: RecallRepo;

  readonly #db: Connection;
  readonly #lock = new Mutex();
  readonly #context = new AsyncLocalStorage<TxState>();
  readonly #statements: Statements;
  readonly #logStatements: LogStatements;
  readonly #begin: Statement;
  readonly #commit: Statement;
  readonly #rollback: Statement;
  /** Where a writer thread opens its connection; undefined: plans run on this thread. */
  readonly #writerOptions: WriterOptions | undefined;
  #writer: SqliteWriter | undefined;
  #closed = false;

  constructor(db: Connection, writerOptions: WriterOptions | undefined) {
    this.#db = db;
    this.#writerOptions = writerOptions;
    this.#statements = prepareStatements(db);
    this.#logStatements = prepareLogStatements(db);
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    const repos = makeRepos(this.#statements, this.#standaloneExec());
    this.objects = repos.objects;
    this.ledger = sqliteLog(this.#logStatements, this.#standaloneExec(), false).repo;
    this.outbox = repos.outbox;
    this.inbox = repos.inbox;
    this.peers = repos.peers;
    this.agreements = repos.agreements;
    this.match = repos.match;
    this.agreementState = repos.agreementState;
    this.budgets = repos.budgets;
    this.taxii = repos.taxii;
    this.nonces = repos.nonces;
    this.peerKeys = repos.peerKeys;
    this.keys = repos.keys;
    this.recalls = repos.recalls;
  }

  /** The port's `transaction`; its repos are SQLite's (`SqliteRepos`), for the writer thread. */
  async transaction<T>(fn: (tx: SqliteRepos & Pick<Repos, "ledger">) => Promise<T>): Promise<T> {
    this.#refuseInsideTransaction();
    return this.#lock.run(async () => {
      storageCall("could not begin a transaction", () => this.#begin.run());
      const state: TxState = { active: true, failed: false };
      let result: T;
      try {
        const exec = this.#transactionExec(state);
        // The log integrates the transaction's appends as one batch just before COMMIT.
        const log = sqliteLog(this.#logStatements, exec, true);
        result = await this.#context.run(state, () =>
          fn({ ...makeRepos(this.#statements, exec), ledger: log.repo }),
        );
        await log.flush();
      } catch (e) {
        state.active = false;
        this.#rollbackQuietly();
        throw e;
      }
      state.active = false;
      if (state.failed || !this.#db.inTransaction) {
        this.#rollbackQuietly();
        throw new AccordError(
          "ERR_STORAGE",
          "the transaction was rolled back because a statement in it failed",
        );
      }
      try {
        this.#commit.run();
      } catch (e) {
        this.#rollbackQuietly();
        throw new AccordError("ERR_STORAGE", "could not commit the transaction", { cause: e });
      }
      return result;
    });
  }

  async commitPlans(plans: readonly WritePlan[]): Promise<void> {
    this.#refuseInsideTransaction();
    const options = this.#writerOptions;
    if (options === undefined) return this.transaction((tx) => runWritePlans(tx, plans));
    // The store's lock is held while the writer thread commits: see writer.ts.
    return this.#lock.run(() => {
      if (this.#closed) throw new AccordError("ERR_STORAGE", "the sqlite store is closed");
      this.#writer ??= new SqliteWriter(options, () => {
        this.#writer = undefined;
      });
      return this.#writer.commit(plans);
    });
  }

  async migrate(): Promise<number> {
    this.#refuseInsideTransaction();
    return this.#lock.run(() =>
      storageCall("could not migrate the sqlite database", () => applyMigrations(this.#db)),
    );
  }

  async close(): Promise<void> {
    this.#refuseInsideTransaction();
    await this.#lock.run(async () => {
      if (this.#closed) return;
      this.#closed = true;
      await this.#writer?.close();
      storageCall("could not close the sqlite database", () => this.#db.close());
    });
  }

  /** Calls made through the store itself: each waits for the lock. */
  #standaloneExec(): Exec {
    return {
      run: (failure, op) => {
        this.#refuseInsideTransaction();
        return this.#lock.run(() => storageCall(failure, op));
      },
      atomic: (failure, op) => {
        this.#refuseInsideTransaction();
        return this.#lock.run(() =>
          storageCall(failure, () => {
            this.#begin.run();
            try {
              const result = op();
              this.#commit.run();
              return result;
            } catch (e) {
              this.#rollbackQuietly();
              throw e;
            }
          }),
        );
      },
    };
  }

  /** Calls made through a transaction's repos: the lock is already held by the transaction. */
  #transactionExec(state: TxState): Exec {
    const run = <T>(failure: string, op: () => T): Promise<T> => {
      if (!state.active) {
        throw new TypeError("a transaction's repos were used after the transaction ended");
      }
      try {
        return Promise.resolve(storageCall(failure, op));
      } catch (e) {
        if (isAccordError(e) && e.code === "ERR_STORAGE") state.failed = true;
        throw e;
      }
    };
    return { run, atomic: run };
  }

  #refuseInsideTransaction(): void {
    if (this.#context.getStore()?.active === true) {
      throw new TypeError(
        "inside a transaction use the repos passed to its function, not the store (it would wait for itself)",
      );
    }
  }

  #rollbackQuietly(): void {
    if (!this.#db.inTransaction) return;
    try {
      this.#rollback.run();
    } catch {
      // The connection is unusable or the transaction is already gone; the caller reports
      // the error that got us here, which matters more than this one.
    }
  }
}

/** Run `op`; a driver error becomes ERR_STORAGE with a message that says what failed. */
function storageCall<T>(failure: string, op: () => T): T {
  try {
    return op();
  } catch (e) {
    if (isAccordError(e)) throw e;
    throw new AccordError("ERR_STORAGE", failure, { cause: e });
  }
}
