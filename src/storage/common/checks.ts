/**
 * Argument checks and results both storage adapters give the same way (spec/storage.md,
 * "Limits"). Engine-neutral: nothing here reaches a driver.
 */
import type { PutResult } from "../../app/ports.js";

/** `limit` itself when it is a non-negative integer; otherwise RangeError (a limit of 0 reads nothing). */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** The result of an insert that does nothing on conflict, from the number of rows it wrote. */
export const putResult = (written: number): PutResult => (written === 1 ? "inserted" : "unchanged");
