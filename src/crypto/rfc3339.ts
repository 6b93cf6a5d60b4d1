/**
 * RFC 3339 §5.6 `date-time`, read strictly: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, upper-case
 * `T` and `Z`, a real calendar date, no leap second (Date cannot represent one). Timestamps in
 * envelopes and receipts come from peers and are attacker-controlled; this is the one reader.
 *
 * Not part of Accord's public API: `index.ts` does not re-export this module.
 */

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Longest date-time this reader accepts (nine fraction digits and an offset). */
export const MAX_RFC3339_LENGTH = 35;

/** Milliseconds since the epoch for a valid RFC 3339 date-time, else undefined. */
export function parseRfc3339(text: unknown): number | undefined {
  if (typeof text !== "string" || text.length > MAX_RFC3339_LENGTH) return undefined;
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year, month - 1, day);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined; // 30 Feb
  let ms = date.getTime() + Math.floor(Number(`0.${frac ?? "0"}`) * 1000);
  if (sign !== undefined) {
    const offHours = Number(oh);
    const offMinutes = Number(om);
    if (offHours > 23 || offMinutes > 59) return undefined;
    const offset = (offHours * 60 + offMinutes) * 60_000;
    ms += sign === "+" ? -offset : offset;
  }
  return Number.isFinite(ms) ? ms : undefined;
}
