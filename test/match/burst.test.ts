/**
 * The agreement's burst budget for hit/no-hit queries (`queries.budget_per_burst`,
 * spec/agreement.md): parsed and bounded by the schema, and used by the budget check instead of
 * the quarter-of-a-day default (the HTTP behaviour is in http.test.ts, "budgets").
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { burstLimit } from "../../src/app/match.js";
import { parseAgreement } from "../../src/core/agreement/parse.js";
import { AccordError } from "../../src/errors.js";

const FIU_MOU = readFileSync(
  new URL("../../examples/agreements/fiu-mou.yaml", import.meta.url),
  "utf8",
);
const withQueries = (lines: string) => FIU_MOU.replace("  budget_per_day: 20\n", `${lines}\n`);

describe("queries.budget_per_burst", () => {
  it("defaults to a quarter of the day (at least 1, 0 when the day is 0)", () => {
    expect(burstLimit(parseAgreement(FIU_MOU))).toBe(5);
    expect(burstLimit(parseAgreement(withQueries("  budget_per_day: 3")))).toBe(1);
    expect(burstLimit(parseAgreement(withQueries("  budget_per_day: 0")))).toBe(0);
  });

  it("takes the agreement's own burst when it names one, 0 included", () => {
    const small = parseAgreement(withQueries("  budget_per_day: 20\n  budget_per_burst: 2"));
    expect(small.doc.queries.budget_per_burst).toBe(2);
    expect(burstLimit(small)).toBe(2);
    expect(
      burstLimit(parseAgreement(withQueries("  budget_per_day: 20\n  budget_per_burst: 0"))),
    ).toBe(0);
  });

  it("refuses a negative, fractional or non-numeric burst, naming the field", () => {
    for (const bad of ["-1", "1.5", "lots"]) {
      let error: unknown;
      try {
        parseAgreement(withQueries(`  budget_per_day: 20\n  budget_per_burst: ${bad}`));
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(AccordError);
      const e = error as AccordError;
      expect(JSON.stringify([e.message, e.details])).toContain("budget_per_burst");
    }
  });
});
