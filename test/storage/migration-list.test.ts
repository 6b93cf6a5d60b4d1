/**
 * spec/storage.md lists every migration by number and name; both adapters must have exactly that
 * list (the same numbers, the same names), so the spec cannot fall behind the code again.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MIGRATIONS as SQLITE } from "../../src/storage/sqlite/migrations.js";
import { MIGRATIONS as POSTGRES } from "../../src/storage/postgres/migrations.js";

const spec = readFileSync(new URL("../../spec/storage.md", import.meta.url), "utf8");

/** The rows of the migrations table: `| 11 | \`name\` | … |`. */
function specList(): [number, string][] {
  const rows: [number, string][] = [];
  for (const m of spec.matchAll(/^\| (\d+) +\| `([a-z0-9-]+)` +\|/gm))
    rows.push([Number(m[1]), m[2]!]);
  return rows;
}

const list = (ms: readonly { version: number; name: string }[]): [number, string][] =>
  [...ms].sort((a, b) => a.version - b.version).map((m) => [m.version, m.name]);

describe("the migration list in spec/storage.md", () => {
  it("names every migration of both adapters, and no other", () => {
    expect(specList().length).toBeGreaterThan(0);
    expect(specList()).toEqual(list(SQLITE));
    expect(specList()).toEqual(list(POSTGRES));
  });
});
