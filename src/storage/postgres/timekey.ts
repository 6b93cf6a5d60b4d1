/**
 * Sort keys for RFC 3339 timestamps (RFC 3339 §5.6). Timestamps are stored as the exact text
 * given (the ports return what was put, and `timestamptz` would respell it); ordering and
 * comparison use this derived key instead, so that SQL sees instants, not spellings: "…:00Z" is
 * earlier than "…:00.5Z", and "…T01:00:00+01:00" equals "…T00:00:00Z".
 *
 * Key: the UTC instant as "YYYY-MM-DDTHH:MM:SS." and the fractional seconds right-padded with
 * zeros to at least nine digits, no zone. Under the "C" collation keys compare bytewise, which is
 * instant order: whole seconds are fixed-width and a longer fraction only extends a key.
 */

const PATTERN = /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(\.\d+)?(?:[Zz]|([+-]\d\d):(\d\d))$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The sort key of `ts`; RangeError when it is not an RFC 3339 timestamp. */
export function instantKey(ts: string, what: string): string {
  const parts = PATTERN.exec(ts);
  const bad = (): RangeError => new RangeError(`${what} must be an RFC 3339 timestamp`);
  if (parts === null) throw bad();
  const n = (i: number): number => Number.parseInt(parts[i] ?? "0", 10);
  const year = n(1);
  const month = n(2);
  const day = n(3);
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const monthDays = month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0);
  if (day < 1 || day > monthDays || n(4) > 23 || n(5) > 59 || n(6) > 60) throw bad();
  const offsetHours = n(8); // signed: "-05" parses as -5
  const offsetMinutes = n(9);
  if (Math.abs(offsetHours) > 23 || offsetMinutes > 59) throw bad();
  const offsetSign = parts[8]?.startsWith("-") === true ? -1 : 1;

  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  local.setUTCHours(n(4), n(5), n(6)); // :60, a leap second, sorts as the next minute's first
  const utcMs =
    local.getTime() - offsetSign * (Math.abs(offsetHours) * 60 + offsetMinutes) * 60_000;
  const utc = new Date(utcMs);
  if (utc.getUTCFullYear() < 0 || utc.getUTCFullYear() > 9999) throw bad();

  const digits = (parts[7] ?? ".").slice(1);
  return `${utc.toISOString().slice(0, 19)}.${digits.padEnd(9, "0")}`;
}

/** The sort key of an object's version: "" (no versions) sorts before every timestamp. */
export function objectVersionKey(version: string): string {
  return version === "" ? "" : instantKey(version, "an object's version (`modified` or `created`)");
}
