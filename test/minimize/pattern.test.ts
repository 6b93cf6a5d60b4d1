/**
 * The STIX 2.1 patterning grammar (STIX 2.1 §9; STIXPattern.g4 of oasis-open/cti-pattern-validator):
 * examples from the specification parse and print back to a fixed point, text outside the grammar
 * is rejected, and value rewriting touches only the comparison values.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parsePattern, printPattern, rewriteStrings } from "../../src/core/minimize/index.js";

/** Patterns from STIX 2.1 §9.9 (examples) and the grammar's corner cases. */
const VALID = [
  "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
  "[email-message:from_ref.value MATCHES '.+\\\\@example\\\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
  "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
  "[domain-name:value = 'www.5z8.info' AND domain-name:resolves_to_refs[*].value = '198.51.100.1/32']",
  "[url:value = 'http://example.com/foo'] OR [url:value = 'http://example.com/bar']",
  "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] FOLLOWEDBY [windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar'] WITHIN 300 SECONDS",
  "([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo\\\\bar']) OR [process:name = 'fooproc' OR process:name = 'procfoo']",
  "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
  "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value ISSUBSET '203.0.113.0/24'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
  "[file:size > 1024 AND file:extensions.'windows-pebinary-ext'.sections[0].entropy >= 7.5]",
  "[x-custom:values[-1] NOT IN ('a', 'b\\'c', 3, true)]",
  "[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=' OR artifact:hashes.'SHA-1' = h'0a0b']",
  "[process:name NOT = 'x' AND (process:pid < 10 OR EXISTS process:cwd)]",
];

const INVALID = [
  "",
  "[file:name = 'x'",
  "file:name = 'x'",
  "[file:name == 'x']",
  '[file:name = "x"]',
  "[file:name = 'x\\n']",
  "[file:name LIKE 3]",
  "[file:size > true]",
  "[file:name = 'x'] START '2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
  "[file:name = 'x'] WITHIN -5 SECONDS",
  "[file:name = 'x'] and [file:name = 'y']",
  "[ts:t = t'2016-13-01T00:00:00Z']",
  "[file:name = 'x'] /* unterminated",
  "[a:b = 'x'] ;",
  `${"(".repeat(200)}[a:b = 'x']${")".repeat(200)}`,
];

describe("parsePattern", () => {
  it.each(VALID)("parses and prints to a fixed point: %s", (p) => {
    const ast = parsePattern(p);
    expect(ast).toBeDefined();
    if (ast === undefined) return;
    const printed = printPattern(ast);
    expect(parsePattern(printed), "the printed form parses to the same tree").toEqual(ast);
    expect(printPattern(parsePattern(printed) ?? ast), "printing is a fixed point").toBe(printed);
  });

  it.each(INVALID)("rejects %j", (p) => {
    expect(parsePattern(p)).toBeUndefined();
  });

  it("drops comments", () => {
    const ast = parsePattern("[file:name = 'x' /* secret */ ] // trailing\n");
    expect(ast && printPattern(ast)).toBe("[file:name = 'x']");
  });

  it("never throws and round-trips whatever it accepts", () => {
    const alphabet = fc.constantFrom(
      ..."[]():,='\\ abcxyz-_.*019<>!tFLOWEDBYANDORNOTINMATCHES".split(""),
    );
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }).map((a) => a.join("")),
        (s) => {
          const ast = parsePattern(s);
          if (ast !== undefined)
            expect(parsePattern(printPattern(ast)), "accepted text round-trips").toEqual(ast);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("round-trips any string value through quoting", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (v) => {
        const ast = parsePattern(`[x:y = 'a']`);
        if (ast === undefined) throw new Error("unreachable");
        const rewritten = rewriteStrings(ast, () => ({ value: v }));
        const again = parsePattern(printPattern(rewritten));
        expect(again, "a rewritten value survives printing").toEqual(rewritten);
      }),
    );
  });
});

describe("rewriteStrings", () => {
  it("rewrites values and operators, never paths or other literals", () => {
    const ast = parsePattern(
      "[ipv4-addr:value = '203.0.113.4' AND x:'n' IN ('a', 1) AND f:size > 3]",
    );
    if (ast === undefined) throw new Error("unreachable");
    const out = rewriteStrings(ast, (_path, op, _not, value) =>
      op === "=" ? { value: "203.0.113.0/24", op: "ISSUBSET" } : { value: value.toUpperCase() },
    );
    expect(printPattern(out)).toBe(
      "[ipv4-addr:value ISSUBSET '203.0.113.0/24' AND x:'n' IN ('A', 1) AND f:size > 3]",
    );
    expect(printPattern(ast), "the input tree is untouched").toBe(
      "[ipv4-addr:value = '203.0.113.4' AND x:'n' IN ('a', 1) AND f:size > 3]",
    );
  });
});
