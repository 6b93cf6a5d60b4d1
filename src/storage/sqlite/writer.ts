/**
 * The SQLite writer thread (spec/storage.md, "Writer thread"): `Store.commitPlans` on a worker
 * thread that owns a second connection to the same file, so the thread serving requests is not
 * held by the inserts and the commit's fsync (milliseconds at synchronous=FULL) and goes on
 * parsing and checking the next requests meanwhile.
 *
 * - One plan group at a time: the store calls `commit` holding its own lock, so its connection
 *   never competes with this one for SQLite's write lock (a wait there would block the event
 *   loop), and nothing the store reads can be half a group.
 * - A plan is data (src/app/ports.ts `WritePlan`), structured-cloned to the thread, its objects
 *   prepared here first (`PreparedStep`); the thread runs it as the store's own thread would
 *   (src/app/write-plan.ts), in one transaction, and answers once COMMIT returned: the group is
 *   durable when `commit` resolves.
 * - If the thread dies, every call waiting on it fails with ERR_STORAGE (a transaction it had
 *   open is rolled back by SQLite: nothing of it is committed) and the next call starts a new one.
 */
import type { Worker } from "node:worker_threads";
import type { LedgerAppend, WritePlan, WriteStep } from "../../app/ports.js";
import { fromThreadError, startWorker, type ThreadError } from "../../compute/threads.js";
import { AccordError } from "../../errors.js";
import { prepareObjects, type PreparedObject } from "./repos.js";

/** What the writer thread needs to open its connection. */
export interface WriterOptions {
  readonly path: string;
  readonly synchronous: "full" | "normal";
  readonly busyTimeoutMs: number;
}

/**
 * A plan as it travels to the writer thread: its objects prepared here (`prepareObjects`: keys and
 * JSON text), so the thread receives flat rows of strings. Measured (40 groups of 1,000
 * indicators): rebuilding the STIX objects themselves from the structured clone cost the thread
 * ~30 µs per object; sending the whole request as one JSON text cost 14-15 µs per object on this
 * thread and 26-30 on the writer; prepared rows cost 8-12 here and 16-23 there.
 */
export type PreparedStep =
  | Exclude<WriteStep, { op: "putObjects" }>
  | {
      readonly op: "putPrepared";
      readonly rows: readonly PreparedObject[];
      readonly counted?: LedgerAppend;
    };

function prepared(plan: WritePlan): PreparedStep[] {
  return plan.map((step) =>
    step.op === "putObjects"
      ? {
          op: "putPrepared",
          rows: prepareObjects(step.objects),
          ...(step.counted === undefined ? {} : { counted: step.counted }),
        }
      : step,
  );
}

/** @internal The messages between `SqliteWriter` and writer-thread.ts. */
export type WriterRequest =
  | { readonly id: number; readonly plans: readonly (readonly PreparedStep[])[] }
  | { readonly id: number; readonly close: true };
/** @internal */
export interface WriterAnswer {
  readonly id: number;
  readonly error?: ThreadError;
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

export class SqliteWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #dead: Error | undefined;

  /** `onExit` runs once when the thread is gone, for whatever reason. */
  constructor(options: WriterOptions, onExit: () => void) {
    this.#worker = startWorker(import.meta.url, "writer-thread", options);
    this.#worker.on("message", (a: WriterAnswer) => {
      const p = this.#pending.get(a.id);
      this.#pending.delete(a.id);
      if (a.error === undefined) p?.resolve();
      else p?.reject(fromThreadError(a.error));
    });
    const fail = (cause: unknown) => {
      if (this.#dead !== undefined) return;
      this.#dead = new AccordError("ERR_STORAGE", "the sqlite writer thread stopped", { cause });
      for (const p of this.#pending.values()) p.reject(this.#dead);
      this.#pending.clear();
      onExit();
    };
    this.#worker.on("error", fail);
    this.#worker.on("exit", (code) => {
      fail(new Error(`exit code ${String(code)}`));
    });
  }

  /** Run the plans in one transaction on the writer thread; resolves once it is committed. */
  commit(plans: readonly WritePlan[]): Promise<void> {
    const ready = plans.map(prepared);
    return this.#send((id) => ({ id, plans: ready }));
  }

  /** Close the thread's connection and end the thread. */
  async close(): Promise<void> {
    if (this.#dead !== undefined) return;
    await this.#send((id) => ({ id, close: true }));
    await new Promise<void>((resolve) => {
      if (this.#dead !== undefined) resolve();
      else
        this.#worker.once("exit", () => {
          resolve();
        });
    });
  }

  #send(request: (id: number) => WriterRequest): Promise<void> {
    if (this.#dead !== undefined) return Promise.reject(this.#dead);
    const id = this.#next++;
    return new Promise<void>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request(id));
    });
  }
}
