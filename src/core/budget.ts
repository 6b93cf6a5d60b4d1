/**
 * Query budget windows (spec/agreement.md "Query budgets"): fixed windows in UTC, so every node
 * and every adapter counts the same queries in the same window.
 *
 * - `day`: the UTC calendar day of the query, [00:00, next 00:00).
 * - `burst`: the UTC minute of the query, [hh:mm:00, hh:mm+1:00).
 */
export type BudgetWindowName = "day" | "burst";

const WINDOW_MS: Readonly<Record<BudgetWindowName, number>> = { day: 86_400_000, burst: 60_000 };

export interface WindowBounds {
  /** RFC 3339 (UTC, milliseconds): the first instant of the window; also its storage key. */
  readonly start: string;
  /** RFC 3339 (UTC, milliseconds): the first instant after the window. */
  readonly end: string;
}

/** The window of kind `window` that contains `at` (an RFC 3339 timestamp). RangeError on bad input. */
export function budgetWindow(window: BudgetWindowName, at: string): WindowBounds {
  const size = WINDOW_MS[window] as number | undefined;
  if (size === undefined) throw new RangeError(`budget window must be "day" or "burst"`);
  const t = Date.parse(at);
  if (typeof at !== "string" || Number.isNaN(t))
    throw new RangeError("budget time must be an RFC 3339 timestamp");
  const start = Math.floor(t / size) * size;
  return { start: new Date(start).toISOString(), end: new Date(start + size).toISOString() };
}

/** Check a consume request's numbers; RangeError naming the member that is wrong. */
export function checkBudgetRequest(limit: number, cost: number): void {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError("budget limit must be a non-negative integer");
  if (!Number.isSafeInteger(cost) || cost < 1)
    throw new RangeError("budget cost must be a positive integer");
}
