import { describe, expect, it } from "vitest";
import { timeKey } from "../../src/storage/sqlite/timekey.js";
import { instantKey } from "../../src/storage/postgres/timekey.js";

/** The two adapters derive the same sort key from a timestamp; SQLite's has a fast UTC path. */
describe("timestamp sort keys", () => {
  const cases: [string, string][] = [
    ["2026-03-01T00:00:00Z", "2026-03-01T00:00:00.000000000"],
    ["2026-03-01t00:00:00.5z", "2026-03-01T00:00:00.500000000"],
    ["2026-03-01T00:00:00.123456789123Z", "2026-03-01T00:00:00.123456789123"],
    ["2024-02-29T23:59:59.999Z", "2024-02-29T23:59:59.999000000"],
    ["2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000000000"],
    ["2026-12-31T23:59:60Z", "2027-01-01T00:00:00.000000000"],
    ["2026-03-01T01:00:00+01:00", "2026-03-01T00:00:00.000000000"],
    ["2026-03-01T00:30:00.25-02:30", "2026-03-01T03:00:00.250000000"],
    ["0000-01-01T00:00:00Z", "0000-01-01T00:00:00.000000000"],
  ];
  it.each(cases)("%s keys as %s in both adapters", (ts, key) => {
    expect(timeKey(ts, "t")).toBe(key);
    expect(instantKey(ts, "t")).toBe(key);
  });

  const invalid = [
    "2026-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2026-04-31T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-10T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:60:00Z",
    "2026-01-01T00:00:61Z",
    "2026-01-01T00:00:00+24:00",
    "2026-01-01 00:00:00Z",
    "2026-01-01T00:00:00",
  ];
  it.each(invalid)("%s is refused by both adapters", (ts) => {
    expect(() => timeKey(ts, "the time")).toThrow(/the time must be an RFC 3339 timestamp/);
    expect(() => instantKey(ts, "the time")).toThrow(RangeError);
  });
});
