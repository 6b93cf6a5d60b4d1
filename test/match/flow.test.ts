/**
 * The hit/no-hit flow of spec/match.md with the pure pieces only: the responder publishes a
 * filter over its POPRF outputs for one agreement and epoch; a requester normalises, blinds,
 * gets one evaluation with a proof, finalizes and checks the filter locally.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildGcs,
  matchInfo,
  matchInput,
  normalizeIdentifier,
  parseGcs,
  type GcsFilter,
  type Identifier,
  type IdentifierKind,
} from "../../src/core/match/index.js";
import {
  createPoprfServer,
  loadOprfSuite,
  type OprfSuite,
  type PoprfServer,
} from "../../src/crypto/oprf/index.js";

const HELD: [IdentifierKind, string][] = [
  ["iban", "GB82 WEST 1234 5698 7654 32"],
  ["email", "Suspect@Example.org"],
  ["phone", "+44 20 7946 0958"],
  ["file-hash", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"],
];

let suite: OprfSuite;
let server: PoprfServer;
let filter: GcsFilter;
const info = matchInfo("agr-2026-fiu-gb-de", 3);

beforeAll(async () => {
  suite = await loadOprfSuite();
  server = await createPoprfServer(suite.poprf.generateKeyPair().secretKey);
  const outputs = HELD.map(([kind, raw]) =>
    server.evaluate(matchInput(normalizeIdentifier(kind, raw)), info),
  );
  filter = parseGcs(buildGcs(outputs));
});

function ask(kind: IdentifierKind, raw: string, askInfo = info): boolean {
  return askFor(normalizeIdentifier(kind, raw), askInfo);
}

function askFor(id: Identifier, askInfo = info): boolean {
  const input = matchInput(id);
  const b = suite.poprf.blind(input, askInfo, server.publicKey);
  const r = server.blindEvaluate([b.blindedElement], askInfo);
  const [output] = suite.poprf.finalize(
    [input],
    [b.blind],
    r.evaluatedElements,
    [b.blindedElement],
    r.proof,
    askInfo,
    b.tweakedKey,
  );
  return filter.has(output ?? new Uint8Array());
}

describe("hit/no-hit", () => {
  it("hits on held identifiers written any way their kind allows", () => {
    expect(ask("iban", "gb82west12345698765432")).toBe(true);
    expect(ask("email", "  suspect@EXAMPLE.ORG")).toBe(true);
    expect(ask("phone", "0044 (0)20 7946 0958".replace("(0)", ""))).toBe(true);
    expect(
      ask("file-hash", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ).toBe(true);
  });

  it("misses on identifiers the responder does not hold", () => {
    expect(ask("iban", "DE89 3704 0044 0532 0130 00")).toBe(false);
    expect(ask("email", "someone.else@example.org")).toBe(false);
  });

  it("misses when the same value is asked as another kind", () => {
    expect(askFor({ kind: "iban", value: "GB82WEST12345698765432" })).toBe(true);
    expect(askFor({ kind: "passport", value: "GB82WEST12345698765432" })).toBe(false);
    expect(askFor({ kind: "email", value: "GB82WEST12345698765432" })).toBe(false);
  });

  it("misses under another epoch: the filter is bound to its agreement and epoch", () => {
    expect(ask("iban", "GB82 WEST 1234 5698 7654 32", matchInfo("agr-2026-fiu-gb-de", 4))).toBe(
      false,
    );
    expect(ask("iban", "GB82 WEST 1234 5698 7654 32", matchInfo("agr-other", 3))).toBe(false);
  });
});
