/**
 * When a failed delivery is tried again: the one retry schedule of the share outbox
 * (`AccordNode.deliverDue`) and the recall outbox (`RecallService.deliverDue`), spec/recall.md
 * "Delivery" and spec/federation.md.
 *
 * Exponential backoff from 1 s, doubling per failed attempt, capped at one hour, plus up to 20 %
 * jitter so partners that come back are not hit by every sender at once. There is no attempt
 * limit: a message an unreachable partner has not taken stays pending and is tried at least once
 * every `MAX_BACKOFF_MS * (1 + JITTER)` for as long as it takes; only a final answer (a refusal)
 * or a cancellation (an agreement's sunset) ends it. test/federation/retry-schedule.test.ts
 * proves the schedule keeps trying across an hour's outage and a day's.
 */

/** The first retry waits this long. */
export const FIRST_BACKOFF_MS = 1000;
/** No wait between attempts is longer than this (before jitter). */
export const MAX_BACKOFF_MS = 3_600_000;
/** Jitter adds up to this fraction of the backoff. */
export const JITTER = 0.2;
/** Doubling stops here: 2^22 s is far beyond the cap, and the exponent stays a small number. */
const MAX_DOUBLINGS = 22;

/**
 * The wait before the next attempt after `attempts` failed ones (0 for the first failure), with
 * `jitterByte` (0..255, from the node's random source) choosing the jitter.
 */
export function backoffMs(attempts: number, jitterByte: number): number {
  const n = Math.max(0, Math.min(Math.floor(attempts), MAX_DOUBLINGS));
  const base = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** n);
  const byte = Math.max(0, Math.min(255, Math.floor(jitterByte)));
  return base + Math.floor((byte / 255) * base * JITTER);
}

/** The RFC 3339 time of the next attempt after `attempts` failed ones, from `now`. */
export function nextAttemptAt(now: Date, attempts: number, jitterByte: number): string {
  return new Date(now.getTime() + backoffMs(attempts, jitterByte)).toISOString();
}
