/**
 * Group commit for concurrent writers (spec/taxii.md, "Writes"): units of work that arrive while
 * a transaction is being written wait, and are written together in the next one, so N concurrent
 * writers pay for one durable commit (one fsync with SQLite's synchronous=FULL) instead of N.
 *
 * - Each caller's promise settles only after the transaction holding its unit has committed:
 *   nothing is acknowledged before it is durable.
 * - When a group's transaction fails (one unit threw, or a statement failed), it is rolled back
 *   whole and every unit is retried alone in its own transaction, so a failing unit refuses only
 *   its own caller and nothing of it is half-written. Units must therefore be re-runnable: they
 *   write through the `tx` they are given and compute ids and timestamps before they are queued
 *   or inside the unit.
 * - A group starts one turn of the event loop after its first unit arrived (setImmediate), so the
 *   requests that are already received are in it; SQLite commits synchronously, so without that
 *   turn every unit would commit alone.
 */
import type { Repos, Store } from "./ports.js";

interface Unit {
  readonly work: (tx: Repos) => Promise<unknown>;
  readonly weight: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

export interface GroupCommitStats {
  /** Transactions that committed a group of units (retries after a failed group included). */
  readonly commits: number;
  /** Units committed. */
  readonly units: number;
  /** Groups that failed and were retried unit by unit. */
  readonly splits: number;
}

export class GroupCommit {
  private queue: Unit[] = [];
  private draining = false;
  private counts = { commits: 0, units: 0, splits: 0 };

  /**
   * @param maxWeight a group closes once its units' weights (objects, for TAXII) reach this, so
   *   one transaction stays bounded in size and in how long it holds the store.
   */
  constructor(
    private readonly store: Store,
    private readonly maxWeight = 20_000,
  ) {}

  /** Run `work` in the next group's transaction; resolves with its result once that committed. */
  run<T>(work: (tx: Repos) => Promise<T>, weight = 1): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, weight, resolve: resolve as (v: unknown) => void, reject });
      if (!this.draining) {
        this.draining = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  stats(): GroupCommitStats {
    return { ...this.counts };
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commit(this.nextGroup());
    } finally {
      this.draining = false;
    }
  }

  private nextGroup(): Unit[] {
    let weight = 0;
    let n = 0;
    while (n < this.queue.length && (n === 0 || weight < this.maxWeight))
      weight += this.queue[n++]?.weight ?? 0;
    return this.queue.splice(0, n);
  }

  private async commit(group: readonly Unit[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.store.transaction(async (tx) => {
        const out: unknown[] = [];
        for (const u of group) out.push(await u.work(tx));
        return out;
      });
    } catch (e) {
      if (group.length === 1) {
        group[0]?.reject(e);
        return;
      }
      this.counts.splits++;
      for (const u of group) await this.commit([u]);
      return;
    }
    this.counts.commits++;
    this.counts.units += group.length;
    group.forEach((u, i) => {
      u.resolve(results[i]);
    });
  }
}
