import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ERROR_STATUS, type ErrorCode } from "../src/errors.js";
import { exitCodeFor } from "../src/cli/main.js";

describe("error codes", () => {
  const doc = readFileSync(new URL("../spec/errors.md", import.meta.url), "utf8");
  const rows = new Map(
    [...doc.matchAll(/^\| `(ERR_[A-Z_]+)` +\| (\d{3}) +\| (\d) +\|/gm)].map((m) => [
      m[1],
      { status: Number(m[2]), exit: Number(m[3]) },
    ]),
  );

  it("are all documented in spec/errors.md with the HTTP status and CLI exit code the code uses", () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(rows.get(code), code).toEqual({ status, exit: exitCodeFor(code as ErrorCode) });
    }
    expect(rows.size).toBe(Object.keys(ERROR_STATUS).length);
  });
});
