/**
 * Argument checks and results both storage adapters give the same way (spec/storage.md,
 * "Limits"). Engine-neutral: nothing here reaches a driver.
 */
import { isAscii } from "node:buffer";
import type { OutboxItem, PendingOutboxItem, PutResult } from "../../app/ports.js";
import { AccordError } from "../../errors.js";

/** `limit` itself when it is a non-negative integer; otherwise RangeError (a limit of 0 reads nothing). */
export function checkLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return limit;
}

/** `limit` itself when it is a positive integer; otherwise RangeError. */
export function checkPositiveLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError("limit must be a positive integer");
  return limit;
}

/** The result of an insert that does nothing on conflict, from the number of rows it wrote. */
export const putResult = (written: number): PutResult => (written === 1 ? "inserted" : "unchanged");

/**
 * An outbox envelope as the driver binds it: text as is, bytes as a Buffer over the same memory
 * (stored as text, so only ASCII is taken: a compact JWE is). Bytes skip making a string of
 * megabytes and converting it back to UTF-8.
 */
export function envelopeParam(envelope: string | Uint8Array): string | Buffer {
  if (typeof envelope === "string") return envelope;
  if (!isAscii(envelope)) throw new RangeError("an outbox envelope's bytes must be ASCII");
  return Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
}

/**
 * An item read as due (pending) with its envelope; a pending item without one is a store that
 * lost an envelope it still had to send, which is refused rather than passed on.
 */
export function pendingItem(
  item: Omit<OutboxItem, "envelope"> & { readonly envelope: string | Uint8Array | null },
): PendingOutboxItem {
  const { status, envelope } = item;
  if (status !== "pending" || envelope === null)
    throw new AccordError("ERR_STORAGE", `outbox item \`${item.id}\` is due but holds no envelope`);
  return {
    ...item,
    status,
    envelope: typeof envelope === "string" ? Buffer.from(envelope, "utf8") : envelope,
  };
}
