/**
 * Group commit for concurrent writers (spec/taxii.md, "Writes"): units of work that arrive while
 * a transaction is being written wait, and are written together in the next one, so N concurrent
 * writers pay for one durable commit (one fsync with SQLite's synchronous=FULL) instead of N.
 *
 * - Each caller's promise settles only after the transaction holding its unit has committed:
 *   nothing is acknowledged before it is durable.
 * - A unit is a `WritePlan`: data, computed (ids, timestamps, log entries) before it is queued,
 *   so the store can run it on a writer thread of its own (`Store.commitPlans`; SQLite does) while
 *   this thread checks the next requests, and can run it again.
 * - When a group's transaction fails (a step failed), it is rolled back whole and every unit is
 *   retried alone in its own transaction, so a failing unit refuses only its own caller and
 *   nothing of it is half-written.
 * - A group starts one turn of the event loop after its first unit arrived (setImmediate), so the
 *   requests that are already received are in it. One group is written at a time; the units
 *   that arrive meanwhile form the next.
 */
import type { Store, WritePlan } from "./ports.js";

interface Unit {
  readonly plan: WritePlan;
  readonly weight: number;
  readonly resolve: () => void;
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
    private readonly store: Pick<Store, "commitPlans">,
    private readonly maxWeight = 20_000,
  ) {}

  /** Run `plan` in the next group's transaction; resolves once that committed. */
  run(plan: WritePlan, weight = 1): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ plan, weight, resolve, reject });
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
    try {
      await this.store.commitPlans(group.map((u) => u.plan));
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
    for (const u of group) u.resolve();
  }
}
