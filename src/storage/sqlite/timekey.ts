/**
 * Sort keys for RFC 3339 timestamps (RFC 3339 §5.6), so that SQL orders and compares them by
 * instant rather than by spelling: "…:00Z" is earlier than "…:00.5Z", which plain string order
 * gets wrong, and "…T01:00:00+01:00" is the same instant as "…T00:00:00Z".
 *
 * The key is the instant in UTC as "YYYY-MM-DDTHH:MM:SS." followed by the fractional seconds
 * right-padded to at least nine digits, without a zone. Keys compare bytewise in instant order: the
 * whole seconds have a fixed width, and a longer fraction only extends a key. The timestamp itself
 * is stored exactly as given; only its key is derived.
 */

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The sort key of an RFC 3339 timestamp; RangeError when `ts` is not one. */
export function timeKey(ts: string, what: string): string {
  // Plain locals, no closures or arrays: this runs for every object stored (its version).
  const m = RFC3339.exec(ts);
  if (m === null) throw invalidTime(what);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  const offsetHours = Number(m[9] ?? "0");
  const offsetMinutes = Number(m[10] ?? "0");
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 60)
    throw invalidTime(what);
  if (offsetHours > 23 || offsetMinutes > 59) throw invalidTime(what);
  const fraction = m[7] ?? "";

  // The common case, UTC ("Z") and no leap second, is its own key: no Date arithmetic.
  if (m[8] === undefined && second < 60) {
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (day > (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] ?? 0)))
      throw invalidTime(what);
    return `${ts.slice(0, 10)}T${ts.slice(11, 19)}.${fraction.padEnd(9, "0")}`;
  }

  const t = new Date(0);
  t.setUTCFullYear(year, month - 1, day);
  if (t.getUTCDate() !== day) throw invalidTime(what); // 2023-02-30 and the like
  t.setUTCHours(hour, minute, second, 0); // a leap second (:60) sorts as the next minute's first
  const east = m[8] === "+" ? 1 : m[8] === "-" ? -1 : 0;
  const utc = new Date(t.getTime() - east * (offsetHours * 60 + offsetMinutes) * 60_000);
  if (utc.getUTCFullYear() < 0 || utc.getUTCFullYear() > 9999) throw invalidTime(what);
  return `${utc.toISOString().slice(0, 19)}.${fraction.padEnd(9, "0")}`;
}

/** Built only on failure: capturing a stack trace on every call cost more than the rest. */
function invalidTime(what: string): RangeError {
  return new RangeError(`${what} must be an RFC 3339 timestamp`);
}

/**
 * The sort key of an object's version (`versionOf`): "" (an object without versions) sorts
 * before every timestamp; anything else must be an RFC 3339 timestamp.
 */
export function versionKey(version: string): string {
  return version === "" ? "" : timeKey(version, "an object's version (`modified` or `created`)");
}
