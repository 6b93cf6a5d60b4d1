/**
 * The networked store: the ports of src/app/ports.ts over PostgreSQL through a `pg` pool
 * (spec/storage.md, "PostgreSQL").
 *
 * - Schema: every connection's search_path is the configured schema (a startup option), which is
 *   created if missing and migrated on open under an advisory lock, so several node processes or
 *   parallel test files can start at once.
 * - Transactions: `transaction(fn)` checks out one client and runs BEGIN, `fn`, COMMIT (ROLLBACK
 *   when `fn` throws) at READ COMMITTED. Concurrent transactions run in parallel, isolated by
 *   PostgreSQL; log appends serialise on a lock of the log's state row, so the Merkle tree
 *   never forks, whichever transactions or processes append (./log.ts).
 * - Misuse that would deadlock or leak a connection (the store's own methods inside a
 *   transaction's body, a transaction's repos after it ended) throws TypeError instead.
 * - Errors: driver failures become AccordError ERR_STORAGE with the driver error as `cause`. A
 *   failed statement aborts a PostgreSQL transaction, so a transaction in which one failed never
 *   commits, even when its body caught the error.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import pg from "pg";
import type { PoolClient, QueryResultRow } from "pg";
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
  RecallRepo,
  Repos,
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
import { carryOverLedgerV1, postgresLog } from "./log.js";
import { makeRepos } from "./repos.js";
import type { Exec, Query, Sql } from "./sql.js";

export interface PostgresStoreOptions {
  /** A postgres:// URL; it must not set search_path itself. */
  readonly connectionString: string;
  /** The schema holding Accord's tables, created if missing (default "public"). */
  readonly schema?: string;
  /** Most connections the pool opens (default 10). */
  readonly poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The state of one `transaction` call, visible to the calls made from its body. */
interface TxState {
  active: boolean;
  failed: boolean;
  /** The tail of the transaction's queue of atomic work (one ledger append at a time). */
  atomicTail: Promise<unknown>;
}

/** Connect, create the schema if needed and migrate it. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const schema = options.schema ?? "public";
  const poolSize = options.poolSize ?? 10;
  if (!SCHEMA_NAME.test(schema)) {
    throw new RangeError("schema must match /^[a-z_][a-z0-9_]{0,62}$/");
  }
  if (!Number.isSafeInteger(poolSize) || poolSize < 1) {
    throw new RangeError("poolSize must be a positive integer");
  }
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: poolSize,
    options: `-c search_path=${schema}`,
  });
  // An idle client whose connection broke: the pool drops it and the next checkout opens a new
  // one, so there is nothing to do here, but an unhandled 'error' event would end the process.
  pool.on("error", () => undefined);

  const store = new PostgresStore(pool, schema);
  try {
    await store.migrate();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw e;
  }
  return store;
}

class PostgresStore implements Store {
  readonly kind = "postgres";
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
  readonly recalls: RecallRepo;
  readonly nonces: NonceRepo;
  readonly peerKeys: PeerKeyRepo;
  readonly keys: KeyRepo;

  readonly #pool: pg.Pool;
  readonly #schema: string;
  readonly #context = new AsyncLocalStorage<TxState>();
  #closing: Promise<void> | undefined;

  constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#schema = schema;
    const repos = makeRepos(this.#poolExec());
    this.objects = repos.objects;
    this.ledger = postgresLog(this.#poolExec(), false).repo;
    this.outbox = repos.outbox;
    this.inbox = repos.inbox;
    this.peers = repos.peers;
    this.agreements = repos.agreements;
    this.match = repos.match;
    this.agreementState = repos.agreementState;
    this.budgets = repos.budgets;
    this.taxii = repos.taxii;
    this.recalls = repos.recalls;
    this.nonces = repos.nonces;
    this.peerKeys = repos.peerKeys;
    this.keys = repos.keys;
  }

  commitPlans(plans: readonly WritePlan[]): Promise<void> {
    return this.transaction((tx) => runWritePlans(tx, plans));
  }

  async transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T> {
    this.#refuseInsideTransaction();
    return this.#withTransaction(async (exec, state) => {
      // The log integrates the transaction's appends as one batch just before COMMIT.
      const log = postgresLog(exec, true);
      const result = await this.#context.run(state, () =>
        fn({ ...makeRepos(exec), ledger: log.repo }),
      );
      await log.flush();
      return result;
    });
  }

  /** BEGIN on one client, `body`, then COMMIT, or ROLLBACK when `body` throws or a statement failed. */
  async #withTransaction<T>(body: (exec: Exec, state: TxState) => Promise<T>): Promise<T> {
    const client = await this.#connect();
    try {
      await client.query("BEGIN");
    } catch (e) {
      client.release(true);
      throw new AccordError("ERR_STORAGE", "could not begin a transaction", { cause: e });
    }
    const state: TxState = { active: true, failed: false, atomicTail: Promise.resolve() };
    let result: T;
    try {
      result = await body(this.#transactionExec(client, state), state);
    } catch (e) {
      state.active = false;
      await rollbackAndRelease(client);
      throw e;
    }
    state.active = false;
    if (state.failed) {
      await rollbackAndRelease(client);
      throw new AccordError(
        "ERR_STORAGE",
        "the transaction was rolled back because a statement in it failed",
      );
    }
    let outcome: string;
    try {
      outcome = (await client.query("COMMIT")).command;
    } catch (e) {
      await rollbackAndRelease(client);
      throw new AccordError("ERR_STORAGE", "could not commit the transaction", { cause: e });
    }
    client.release();
    if (outcome !== "COMMIT") {
      // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK.
      throw new AccordError("ERR_STORAGE", "the database rolled the transaction back");
    }
    return result;
  }

  async migrate(): Promise<number> {
    this.#refuseInsideTransaction();
    const client = await this.#connect();
    let version: number;
    try {
      version = await applyMigrations(client, this.#schema);
      client.release();
    } catch (e) {
      client.release(true);
      throw isAccordError(e)
        ? e
        : new AccordError("ERR_STORAGE", "could not migrate the postgres schema", { cause: e });
    }
    try {
      await carryOverLedgerV1(this.#poolExec());
      return version;
    } catch (e) {
      throw isAccordError(e)
        ? e
        : new AccordError("ERR_STORAGE", "could not migrate the postgres schema", { cause: e });
    }
  }

  async close(): Promise<void> {
    this.#refuseInsideTransaction();
    this.#closing ??= this.#pool.end().catch((e: unknown) => {
      throw new AccordError("ERR_STORAGE", "could not close the postgres pool", { cause: e });
    });
    await this.#closing;
  }

  async #connect(): Promise<PoolClient> {
    try {
      return await this.#pool.connect();
    } catch (e) {
      throw new AccordError("ERR_STORAGE", "could not connect to postgres", { cause: e });
    }
  }

  /** Calls made through the store itself: one pooled connection per statement. */
  #poolExec(): Exec {
    const query: Query = async <R extends QueryResultRow>(
      failure: string,
      sql: Sql<R>,
      values: readonly unknown[],
    ) => {
      this.#refuseInsideTransaction();
      try {
        const r = await this.#pool.query<R>({
          name: sql.name,
          text: sql.text,
          values: [...values],
        });
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      } catch (e) {
        throw new AccordError("ERR_STORAGE", failure, { cause: e });
      }
    };
    return {
      query,
      // Atomic work gets its own short transaction on one connection.
      atomic: (work) => {
        this.#refuseInsideTransaction();
        return this.#withTransaction((exec) => work(exec.query));
      },
    };
  }

  /** Calls made through a transaction's repos: all on the transaction's client. */
  #transactionExec(client: PoolClient, state: TxState): Exec {
    const query: Query = async <R extends QueryResultRow>(
      failure: string,
      sql: Sql<R>,
      values: readonly unknown[],
    ) => {
      if (!state.active) {
        throw new TypeError("a transaction's repos were used after the transaction ended");
      }
      try {
        const r = await client.query<R>({ name: sql.name, text: sql.text, values: [...values] });
        return { rows: r.rows, rowCount: r.rowCount ?? 0 };
      } catch (e) {
        state.failed = true;
        throw new AccordError("ERR_STORAGE", failure, { cause: e });
      }
    };
    return {
      query,
      atomic: <T>(work: (q: Query) => Promise<T>): Promise<T> => {
        if (!state.active) {
          return Promise.reject(
            new TypeError("a transaction's repos were used after the transaction ended"),
          );
        }
        const result = state.atomicTail.then(() => work(query));
        state.atomicTail = result.catch(() => undefined);
        return result;
      },
    };
  }

  #refuseInsideTransaction(): void {
    if (this.#context.getStore()?.active === true) {
      throw new TypeError(
        "inside a transaction use the repos passed to its function, not the store (it would not see the transaction's writes and could wait for its locks)",
      );
    }
  }
}

async function rollbackAndRelease(client: PoolClient): Promise<void> {
  try {
    await client.query("ROLLBACK");
    client.release();
  } catch (e) {
    // The connection is broken; destroy it rather than return it to the pool.
    client.release(e instanceof Error ? e : true);
  }
}
