/**
 * Hit/no-hit matching between two real nodes over real HTTP (spec/match.md): signed filters and
 * evaluations, proofs checked by the requester, kinds and partners refused, budgets that run out
 * with a reset time and are never overspent by parallel requests, the follow-up request with its
 * deadlines, refusals and an approved release that reaches the requester minimized, and bulk PSI.
 * XB (the responder) runs on PostgreSQL too when ACCORD_TEST_PG_URL is set.
 */
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { matchSecretPath } from "../../src/cli/match-secret.js";
import { generateNodeKeys, jwkThumbprint } from "../../src/crypto/keys.js";
import {
  HttpMatchClient,
  EVALUATIONS_PATH,
  FILTERS_PATH,
} from "../../src/federation/match-client.js";
import { signRequestHeaders } from "../../src/federation/request-signing.js";
import { MatchService, type MatchTransport } from "../../src/app/match.js";
import { AccordError } from "../../src/errors.js";
import { main } from "../../src/cli/main.js";
import { loadOprfSuite } from "../../src/crypto/oprf/index.js";
import { matchInfo, matchInput, normalizeIdentifier } from "../../src/core/match/index.js";
import { newOfficerToken, officerTokenHash } from "../../src/app/officers.js";
import { LogDigests } from "../../src/core/log-digest.js";
import { expandDecisions } from "../../src/app/decision-log.js";
import {
  api,
  createNodeDir,
  dropSchemas,
  EXAMPLES,
  freePort,
  makeTempDir,
  PG_URL,
  removeDir,
  start,
  introduce,
  type TestNodeDir,
} from "../support/nodes.js";

const HELD_IBAN = "DE89 3704 0044 0532 0130 00";
const OTHER_IBAN = "GB82 WEST 1234 5698 7654 32";
const HOLDER = "identity--6f1b1c0e-8f3a-4f0e-9a53-2f7d0b8e4c11";

/** XB's own record: the account holder behind the suspect's IBAN. */
const XB_RECORD = {
  type: "bundle",
  id: "bundle--0d6c7c3e-1b7a-4f59-9f0f-5b1d2c3e4f50",
  objects: [
    {
      type: "identity",
      spec_version: "2.1",
      id: HOLDER,
      created: "2026-03-02T09:15:00.000Z",
      modified: "2026-03-02T09:15:00.000Z",
      name: "Account holder K. Varga",
      identity_class: "individual",
      contact_information: "k.varga@mailbox.example, +36 1 555 0199",
      x_iban: HELD_IBAN,
    },
  ],
};

/** A test agreement like the FIU MoU, with a small budget to spend: 6 a day, 2 a minute. */
function budgetAgreement(id: string, perDay: number): string {
  return readFileSync(join(EXAMPLES, "agreements", "fiu-mou.yaml"), "utf8")
    .replace("agreement: fiu-mou", `agreement: ${id}`)
    .replace("budget_per_day: 20", `budget_per_day: ${String(perDay)}`);
}

/** XB's officers: each with their own token; the roles come from accord.yaml, never the request. */
const OFFICERS = {
  analyst: { name: "A. Analyst", roles: ["analyst-supervisor"], token: newOfficerToken() },
  head: { name: "H. Head", roles: ["head-of-fiu"], token: newOfficerToken() },
  deputy: {
    name: "Deputy Head",
    roles: ["analyst-supervisor", "head-of-fiu"],
    token: newOfficerToken(),
  },
  clerk: { name: "C. Clerk", roles: ["registry-clerk"], token: newOfficerToken() },
};
type OfficerKey = keyof typeof OFFICERS;
const officerConfig = Object.values(OFFICERS).map((o) => ({
  name: o.name,
  roles: o.roles,
  token_sha256: officerTokenHash(o.token),
}));
const as = (who: OfficerKey) => ({ "accord-officer-token": OFFICERS[who].token });

const variants = [
  { name: "SQLite", xbOnPostgres: false },
  ...(PG_URL === undefined ? [] : [{ name: "XB on PostgreSQL", xbOnPostgres: true }]),
];

describe.each(variants)("hit/no-hit between nodes ($name)", ({ xbOnPostgres }) => {
  let root: string;
  let dirs: TestNodeDir[];
  let xa: RunningNode;
  let xb: RunningNode;
  let xbPort: number;
  // Starts at real time: partners' RFC 9421 delivery signatures are checked against this clock.
  let nowMs = Date.now();
  const clock = { now: () => new Date(nowMs) };
  const advance = (ms: number) => {
    nowMs += ms;
  };

  beforeAll(async () => {
    root = makeTempDir();
    xbPort = await freePort();
    dirs = [
      createNodeDir(root, { id: "XA", agreements: ["fiu-mou.yaml"], port: await freePort() }),
      createNodeDir(root, {
        id: "XB",
        agreements: ["fiu-mou.yaml"],
        port: xbPort,
        postgres: xbOnPostgres,
        officers: officerConfig,
      }),
    ];
    for (const d of dirs) {
      writeFileSync(
        join(d.dir, "agreements", "budget-burst.yaml"),
        budgetAgreement("budget-burst", 6),
      );
      writeFileSync(join(d.dir, "agreements", "budget-day.yaml"), budgetAgreement("budget-day", 4));
      // Room for a large PSI list.
      writeFileSync(
        join(d.dir, "agreements", "bulk.yaml"),
        budgetAgreement("bulk", 1_000_000).replace(
          "budget_per_day: 1000000",
          "budget_per_day: 1000000\n  budget_per_burst: 1000000",
        ),
      );
      // 20 a day (a default burst of 5) but an explicit burst of 1 a minute.
      writeFileSync(
        join(d.dir, "agreements", "small-burst.yaml"),
        budgetAgreement("small-burst", 20).replace(
          "budget_per_day: 20",
          "budget_per_day: 20\n  budget_per_burst: 1",
        ),
      );
      // 3 a day, and a burst that never binds: only the day can refuse.
      writeFileSync(
        join(d.dir, "agreements", "budget-port.yaml"),
        budgetAgreement("budget-port", 3).replace(
          "budget_per_day: 3",
          "budget_per_day: 3\n  budget_per_burst: 100",
        ),
      );
    }
    xa = await start(dirs[0]!, { clock });
    xb = await start(dirs[1]!, { clock });
    await introduce([xa, xb]);
    await xb.node.ingest(XB_RECORD);
  });

  afterAll(async () => {
    await xa.stop();
    await xb.stop();
    await dropSchemas(dirs);
    removeDir(root);
  });

  // Each test starts in a fresh minute, so burst budgets do not carry over between tests.
  beforeEach(() => {
    advance(61_000);
  });

  const query = (body: Record<string, unknown>) =>
    api(xa, "POST", "/api/v1/match/queries", {
      partner: "XB",
      agreement: "fiu-mou",
      kind: "iban",
      ...body,
    });

  /** A fresh hit on the IBAN XB holds and a standard follow-up request citing it: its id. */
  const fileOnHeldIban = async (): Promise<string> => {
    const hit = await query({ value: HELD_IBAN });
    const filed = await api(xa, "POST", "/api/v1/match/requests", {
      query: hit.body.queryId,
      value: HELD_IBAN,
      legal_basis: "Directive (EU) 2019/1153 art. 8",
    });
    return filed.body.id as string;
  };

  const ledgerOf = async (n: RunningNode) => n.store.ledger.list(0, 100_000);
  /** XB's logged decisions under `agreement` with `effect` (permit or deny). */
  const decisionsAtXb = async (agreement: string, effect: string) =>
    (await ledgerOf(xb)).filter(
      (e) => e.kind === "decision" && e.data.agreement === agreement && e.data.effect === effect,
    );

  /** What node `n`'s log carries for a text or an officer: asked of the node, as oversight does. */
  const keyedOf = async (
    n: RunningNode,
    purpose: "officer" | "legal-basis",
    text: string,
  ): Promise<string> => {
    const r = await api(n, "POST", "/api/v1/log/digest", { purpose, text });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return r.body.value as string;
  };

  /** The `accord` CLI in-process against node `i`'s directory. */
  const accord = async (
    i: number,
    args: string[],
    env: Record<string, string | undefined> = {},
  ) => {
    let out = "";
    let err = "";
    const code = await main([...args, "--dir", dirs[i]!.dir], env, {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  };

  describe("the follow-up request", () => {
    let hitId: string;

    beforeAll(async () => {
      const hit = await query({ value: HELD_IBAN });
      expect(hit.body.hits).toEqual([true]);
      hitId = hit.body.queryId as string;
    });

    it("refuses a request that cites no hit", async () => {
      const miss = await query({ value: OTHER_IBAN });
      const r = await api(xa, "POST", "/api/v1/match/requests", {
        query: miss.body.queryId,
        value: OTHER_IBAN,
        legal_basis: "Directive (EU) 2019/1153 art. 8",
      });
      expect(r.status).toBe(400);
      expect(r.body.detail).toContain("was not a hit");
    });

    it("gives urgent requests 8 hours, lets only the named role approve, and releases a minimized record", async () => {
      const hit = await query({ value: HELD_IBAN });
      const filed = await api(xa, "POST", "/api/v1/match/requests", {
        query: hit.body.queryId,
        value: HELD_IBAN,
        legal_basis: "Directive (EU) 2023/977 art. 5",
        urgency: "urgent",
        justification: "imminent transfer of ransom proceeds",
      });
      expect(filed.status).toBe(201);
      expect(Date.parse(filed.body.dueAt)).toBe(nowMs + 8 * 3_600_000);
      const id = filed.body.id as string;

      const analyst = await api(
        xb,
        "POST",
        `/api/v1/match/requests/${id}/approve`,
        {},
        as("analyst"),
      );
      expect(analyst.status).toBe(403);
      expect(analyst.body.detail).toContain("`head-of-fiu`");
      expect(analyst.body.detail).toContain("officer `A. Analyst` holds `analyst-supervisor`");
      expect((await api(xb, "GET", `/api/v1/match/requests/${id}`)).body.status).toBe("pending");

      const ok = await api(xb, "POST", `/api/v1/match/requests/${id}/approve`, {}, as("head"));
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.request.status).toBe("approved");
      const released = ok.body.request.released as string[];
      expect(released).toHaveLength(1);

      const mine = await api(xa, "GET", `/api/v1/match/requests/${id}`);
      expect(mine.body.status).toBe("approved");
      expect(mine.body.released).toEqual(released);
      const copy = await xa.store.objects.get(released[0]!);

      expect(copy, "the record reached XA").toBeDefined();
      expect(copy!.provenance).toMatchObject({ originator: "XB", agreementId: "fiu-mou" });
      expect(copy!.object.name).toBe("Account holder K. Varga");
      expect(copy!.object).not.toHaveProperty("x_iban");
      expect(copy!.object).not.toHaveProperty("contact_information");
      // Decisions of one share are batched in a `decisions` entry (spec/log.md).
      const releases = (await ledgerOf(xb))
        .flatMap((e) => expandDecisions(e))
        .filter((e) => e.data.action === "release");
      expect(releases.some((e) => e.data.effect === "permit")).toBe(true);
      // Officers are logged by their keyed pseudonyms, which XB resolves for its own audit.
      const analystAs = await keyedOf(xb, "officer", "A. Analyst");
      const headAs = await keyedOf(xb, "officer", "H. Head");
      expect(analystAs).toMatch(/^officer:v1:[A-Za-z0-9_-]{22}$/);
      expect(
        releases.some((e) => e.data.effect === "deny" && e.data.officerPseudonym === analystAs),
      ).toBe(true);
      const decided = (await ledgerOf(xb)).find(
        (e) => e.kind === "match-request-decision" && e.data.request === id,
      );
      expect(decided?.data).toMatchObject({
        status: "approved",
        officerPseudonym: headAs,
        role: "head-of-fiu",
      });
      expect(decided?.data).not.toHaveProperty("officer");
      expect(ok.body.request).toMatchObject({ decidedBy: "H. Head", decidedRole: "head-of-fiu" });

      // Neither log a partner reads names an officer or carries a plain digest of the legal basis;
      // each node keys the legal basis under its own secret, and answers oversight's check.
      const basis = "Directive (EU) 2023/977 art. 5";
      const plain = createHash("sha256").update(basis).digest("hex");
      for (const n of [xa, xb]) {
        const log = await ledgerOf(n);
        const text = JSON.stringify(log);
        for (const o of Object.values(OFFICERS)) expect(text).not.toContain(o.name);
        expect(text).not.toContain(plain);
        expect(text).not.toContain(basis);
        const filedHere = log.find((e) => e.kind === "match-request" && e.data.request === id);
        expect(filedHere?.data).not.toHaveProperty("legalBasisDigest");
        expect(filedHere?.data.legalBasisHmac).toBe(await keyedOf(n, "legal-basis", basis));
      }
      expect(await keyedOf(xa, "legal-basis", basis)).not.toBe(
        await keyedOf(xb, "legal-basis", basis),
      );
      expect(await keyedOf(xa, "officer", "H. Head"), "another node's key").not.toBe(headAs);

      // XB's own audit: the ledger API and `accord log tail` name the officers; `officer list`
      // shows the pseudonym each is logged under.
      const size = (await api(xb, "GET", "/api/v1/ledger?limit=1")).body.size as number;
      const page = await api(
        xb,
        "GET",
        `/api/v1/ledger?from=${String(Math.max(0, size - 1000))}&limit=1000`,
      );
      expect(page.body.officers).toMatchObject({ [headAs]: "H. Head", [analystAs]: "A. Analyst" });
      const tail = await accord(1, ["log", "tail", "--limit", "1000"]);
      expect(tail.code, tail.err).toBe(0);
      expect(tail.out).toContain(`"officerPseudonym":"${headAs}"`);
      expect(tail.out).toContain("\tofficer: H. Head");
      const officers = await api(xb, "GET", "/api/v1/log/officers");
      expect(officers.body.officers).toContainEqual({ name: "H. Head", pseudonym: headAs });
      const listed = await accord(1, ["officer", "list"]);
      expect(listed.out).toContain(`H. Head  head-of-fiu  ${headAs}`);
      const digest = await accord(1, ["log", "digest", "--legal-basis", basis]);
      expect(digest.code, digest.err).toBe(0);
      expect(digest.out).toContain(await keyedOf(xb, "legal-basis", basis));
      // XA's API cannot name XB's officers: their pseudonyms are keyed by XB's secret.
      const xaPage = await api(xa, "GET", "/api/v1/ledger?limit=1000");
      expect(xaPage.body.officers).toEqual({});
    });
    it("decides a request once when two officers approve it at the same moment", async () => {
      const id = await fileOnHeldIban();
      const before = (await xb.store.outbox.list({ limit: 1000 })).length;
      const both = await Promise.all(
        (["head", "deputy"] as const).map((who) =>
          api(xb, "POST", `/api/v1/match/requests/${id}/approve`, {}, as(who)),
        ),
      );
      expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
      expect((await xb.store.outbox.list({ limit: 1000 })).length - before, "one release").toBe(1);
    });

    it("tracks the 48-hour deadline, shows overdue requests, and records refusals with reasons", async () => {
      const filed = await api(xa, "POST", "/api/v1/match/requests", {
        query: hitId,
        value: HELD_IBAN,
        legal_basis: "Directive (EU) 2019/1153 art. 8 and the MoU §4",
        purpose: "aml-cft",
      });
      expect(filed.status, JSON.stringify(filed.body)).toBe(201);
      const hitAt = Date.parse((await xa.store.match.getQuery(hitId, "requester"))!.at);
      expect(Date.parse(filed.body.dueAt)).toBe(hitAt + 48 * 3_600_000);
      expect(filed.body.overdue).toBe(false);
      const id = filed.body.id as string;

      const incoming = await api(
        xb,
        "GET",
        "/api/v1/match/requests?direction=incoming&status=pending",
      );
      expect(incoming.status, JSON.stringify(incoming.body)).toBe(200);
      const seen = (
        incoming.body.requests as { id: string; identifier: string; legalBasis: string }[]
      ).find((r) => r.id === id);
      expect(seen?.identifier).toBe("DE89370400440532013000");
      expect(seen?.legalBasis).toContain("2019/1153");
      expect(JSON.stringify(await ledgerOf(xb))).not.toContain("DE89370400440532013000");

      advance(49 * 3_600_000);
      expect((await api(xb, "GET", `/api/v1/match/requests/${id}`)).body.overdue).toBe(true);
      expect((await api(xa, "GET", `/api/v1/match/requests/${id}`)).body.overdue).toBe(true);
      const pending = await accord(1, ["request", "list", "--incoming", "--status", "pending"]);
      expect(pending.out).toContain(`${id}  from XA under fiu-mou: pending — OVERDUE`);

      const noReasons = await api(
        xb,
        "POST",
        `/api/v1/match/requests/${id}/refuse`,
        { reasons: [" "] },
        as("head"),
      );
      expect(noReasons.status).toBe(400);
      const refused = await api(
        xb,
        "POST",
        `/api/v1/match/requests/${id}/refuse`,
        { reasons: ["the legal basis cited does not cover a release to a police unit"] },
        as("analyst"), // the escalation ladder's first role may refuse (not approve)
      );
      expect(refused.status, JSON.stringify(refused.body)).toBe(200);
      expect(refused.body).toMatchObject({
        status: "refused",
        overdue: false,
        decidedBy: "A. Analyst",
        decidedRole: "analyst-supervisor",
      });
      const mine = await api(xa, "GET", `/api/v1/match/requests/${id}`);
      expect(mine.body).toMatchObject({
        status: "refused",
        reasons: ["the legal basis cited does not cover a release to a police unit"],
        overdue: false,
      });
      const listed = await accord(1, ["request", "list", "--incoming", "--status", "refused"]);
      expect(listed.code, listed.err).toBe(0);
      expect(listed.out).toContain(`${id}  from XA under fiu-mou: refused`);
      expect(listed.out).toContain("reason: the legal basis cited does not cover");
      const shown = await accord(0, ["request", "show", id, "--json"]);
      expect(JSON.parse(shown.out)).toMatchObject({ id, status: "refused", direction: "outgoing" });
      const again = await api(xb, "POST", `/api/v1/match/requests/${id}/approve`, {}, as("head"));
      expect(again.status).toBe(400);
    });

    it("takes the deciding officer and role from the officer's own token, refuses and logs anything else", async () => {
      const id = await fileOnHeldIban();
      const path = `/api/v1/match/requests/${id}`;
      const before = (await ledgerOf(xb)).length;

      // The operator's bearer token alone decides nothing.
      const none = await api(xb, "POST", `${path}/approve`, {});
      expect(none.status).toBe(401);
      expect(none.body.code).toBe("ERR_UNAUTHENTICATED");
      expect(none.body.detail).toContain("Accord-Officer-Token");
      const forged = newOfficerToken();
      const wrong = await api(
        xb,
        "POST",
        `${path}/refuse`,
        { reasons: ["no"] },
        {
          "accord-officer-token": forged,
        },
      );
      expect(wrong.status).toBe(401);
      expect(wrong.body.detail).toContain("not one this node knows");
      // A role or a name in the body is not how an officer is named.
      const claimed = await api(
        xb,
        "POST",
        `${path}/approve`,
        { officer: "H. Head", role: "head-of-fiu" },
        as("analyst"),
      );
      expect(claimed.status).toBe(400);
      expect(claimed.body.detail).toContain("officer's own token");
      // A role that neither the decision rights nor the escalation ladder name may not refuse.
      const clerk = await api(xb, "POST", `${path}/refuse`, { reasons: ["no"] }, as("clerk"));
      expect(clerk.status).toBe(403);
      expect(clerk.body.code).toBe("ERR_POLICY_DENIED");
      expect(clerk.body.detail).toContain("`analyst-supervisor`");
      expect(clerk.body.detail).toContain("officer `C. Clerk` holds `registry-clerk`");
      expect((await api(xb, "GET", path)).body.status).toBe("pending");

      const logged = (await ledgerOf(xb)).slice(before).map((e) => e.data);
      // A decision refused before any officer was named: logged with no pseudonym.
      const deniedUnnamed = (action: string) =>
        expect.objectContaining({ action, request: id, officerPseudonym: null, effect: "deny" });
      expect(logged).toEqual([
        deniedUnnamed("release"),
        deniedUnnamed("refuse"),
        expect.objectContaining({
          action: "refuse",
          request: id,
          officerPseudonym: await keyedOf(xb, "officer", "C. Clerk"),
          effect: "deny",
          clauses: ["fiu-mou v1 §decision_rights.release, §decision_rights.escalation"],
        }),
      ]);
      for (const e of logged) expect(e).not.toHaveProperty("officer");

      // The CLI reads the token from the environment (or a 0600 file), never from a flag.
      const flag = await accord(1, ["match", "approve", id, "--role", "head-of-fiu"], {
        ACCORD_OFFICER_TOKEN: OFFICERS.head.token,
      });
      expect(flag.code).toBe(2);
      expect(flag.err).toContain("come from the officer's own token");
      const missing = await accord(1, ["match", "approve", id]);
      expect(missing.code).toBe(2);
      expect(missing.err).toContain("ACCORD_OFFICER_TOKEN");
      const approved = await accord(1, ["match", "approve", id], {
        ACCORD_OFFICER_TOKEN: OFFICERS.deputy.token,
      });
      expect(approved.code, approved.err).toBe(0);
      expect(approved.out).toContain("approved");
      expect(approved.out).toContain("by Deputy Head (head-of-fiu)");
      const text = JSON.stringify(await ledgerOf(xb));
      for (const o of Object.values(OFFICERS)) {
        expect(text).not.toContain(o.token);
        expect(text).not.toContain(o.name);
      }
      expect(text).not.toContain(forged);
      expect(text).not.toContain(officerTokenHash(OFFICERS.head.token));
    });
  });

  describe("queries", () => {
    it("hits on an IBAN XB holds, written any way, and misses on one it does not", async () => {
      const hit = await query({ value: "de89370400440532013000" });
      expect(hit.status, JSON.stringify(hit.body)).toBe(200);
      expect(hit.body.hits).toEqual([true]);
      expect(hit.body.queryId).toMatch(/^[0-9a-f-]{36}$/);
      const miss = await query({ value: OTHER_IBAN });
      expect(miss.body.hits).toEqual([false]);
      const both = await query({ values: [OTHER_IBAN, HELD_IBAN] });
      expect(both.body.hits).toEqual([false, true]);
    });

    it("answers `accord match query` with one line per identifier", async () => {
      const r = await accord(0, [
        "match",
        "query",
        "--partner",
        "XB",
        "--agreement",
        "fiu-mou",
        "--kind",
        "iban",
        HELD_IBAN,
        OTHER_IBAN,
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toContain(`HIT     ${HELD_IBAN}`);
      expect(r.out).toContain(`no hit  ${OTHER_IBAN}`);
      expect(r.out).toContain("accord request file --query");
      const usage = await accord(0, ["match", "query", "--partner", "XB"]);
      expect(usage.code).toBe(2);
      expect(usage.err).toContain("--agreement is required");
    });

    it("logs on both sides without the identifier or any blinded value", async () => {
      const xbLog = JSON.stringify(await ledgerOf(xb));
      const xaLog = JSON.stringify(await ledgerOf(xa));
      for (const text of [xbLog, xaLog]) {
        expect(text).not.toContain("DE89");
        expect(text).not.toContain("370400440532013000");
        expect(text).not.toContain("blinded_elements");
      }
      const permits = (await ledgerOf(xb)).filter(
        (e) => e.kind === "decision" && e.data.action === "query" && e.data.effect === "permit",
      );
      expect(permits.length).toBeGreaterThanOrEqual(3);
      expect(permits[0]?.data).toMatchObject({ partner: "XA", agreement: "fiu-mou", kind: "iban" });
      const asked = (await ledgerOf(xa)).filter((e) => e.kind === "match-query");
      expect(asked.slice(-4).map((e) => e.data.hits)).toEqual([1, 0, 1, 1]);
    });

    it("refuses a kind the agreement does not allow, at the requester and at the responder", async () => {
      const local = await query({ kind: "email", value: "k.varga@mailbox.example" });
      expect(local.status).toBe(403);
      expect(local.body.code).toBe("ERR_POLICY_DENIED");
      expect(local.body.detail).toContain("§queries.types");

      // A requester that skips its own check meets the responder's decision engine.
      const suite = await loadOprfSuite();
      const filter = await api(xa, "POST", "/api/v1/match/queries", {
        partner: "XB",
        agreement: "fiu-mou",
        kind: "iban",
        value: OTHER_IBAN,
      });
      expect(filter.status).toBe(200);
      const client = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"))),
        now: () => nowMs / 1000,
      });
      const peer = (await xa.store.peers.get("XB"))!;
      const doc = (await client.fetchFilter(peer, "fiu-mou")) as {
        public_key: string;
        epoch: number;
      };
      const info = matchInfo("fiu-mou", doc.epoch);
      const b = suite.poprf.blind(
        matchInput(normalizeIdentifier("email", "k.varga@mailbox.example")),
        info,
        new Uint8Array(Buffer.from(doc.public_key, "base64url")),
      );
      const err = await client
        .evaluate(peer, {
          accord: "match-evaluate/1",
          query_id: "3f1d6c0e-8f3a-4f0e-9a53-2f7d0b8e4c12",
          agreement: "fiu-mou",
          epoch: doc.epoch,
          kind: "email",
          purpose: "aml-cft",
          blinded_elements: [Buffer.from(b.blindedElement).toString("base64url")],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AccordError);
      expect((err as AccordError).code).toBe("ERR_POLICY_DENIED");
      expect((err as AccordError).message).toContain("`email-addr` may not be matched");
      const denied = (await ledgerOf(xb)).filter(
        (e) => e.kind === "decision" && e.data.action === "query" && e.data.effect === "deny",
      );
      expect(denied.some((e) => e.data.kind === "email")).toBe(true);
    });

    it("refuses queries while the agreement is suspended, and answers again once it is resumed", async () => {
      const s = await api(xb, "POST", "/api/v1/agreements/fiu-mou/suspend", { reason: "audit" });
      expect(s.status).toBe(200);
      const refused = await query({ value: HELD_IBAN });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe("ERR_AGREEMENT_NOT_IN_FORCE");
      expect(refused.body.detail).toContain("suspended");
      advance(1000); // lifecycle events are ordered by time; the test clock stands still otherwise
      const r = await api(xb, "POST", "/api/v1/agreements/fiu-mou/resume", {});
      expect(r.status).toBe(200);
      const ok = await query({ value: HELD_IBAN });
      expect(ok.status).toBe(200);
    });

    it("refuses unknown partners, unsigned requests and forged signatures", async () => {
      const unknown = await query({ partner: "XZ", value: HELD_IBAN });
      expect(unknown.status).toBe(403);
      expect(unknown.body.code).toBe("ERR_UNKNOWN_PARTNER");

      const peer = (await xa.store.peers.get("XB"))!;
      const stranger = new HttpMatchClient({
        nodeId: "XC",
        signer: signerOf(generateNodeKeys()),
        now: () => nowMs / 1000,
      });
      const e1 = await stranger.fetchFilter(peer, "fiu-mou").catch((e: unknown) => e);
      expect((e1 as AccordError).code).toBe("ERR_UNKNOWN_PARTNER");

      const forger = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(generateNodeKeys()),
        now: () => nowMs / 1000,
      });
      const e2 = await forger.fetchFilter(peer, "fiu-mou").catch((e: unknown) => e);
      expect((e2 as AccordError).code, "a key that is not XA's pinned key").toBe(
        "ERR_UNKNOWN_PARTNER",
      );

      const unsigned = await fetch(new URL(EVALUATIONS_PATH, xb.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(unsigned.status).toBe(401);
      expect(((await unsigned.json()) as { code: string }).code).toBe("ERR_UNAUTHENTICATED");

      // The same signed request twice: the nonce is remembered durably, the second is a replay.
      const xaKeys = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
      const url = new URL(`${FILTERS_PATH}/fiu-mou`, xb.url);
      const headers = signRequestHeaders(signerOf(xaKeys), {
        method: "GET",
        url: url.href,
        now: Math.floor(nowMs / 1000),
      });
      const first = await fetch(url, { headers });
      expect(first.status).toBe(200);
      expect(first.headers.get("accord-signature"), "the answer is signed").toMatch(/\./);
      const again = await fetch(url, { headers });
      expect(again.status).toBe(409);
      expect(((await again.json()) as { code: string }).code).toBe("ERR_REPLAY");

      // A body that does not match its signed Content-Digest.
      const body = JSON.stringify({ accord: "match-evaluate/1" });
      const evalUrl = new URL(EVALUATIONS_PATH, xb.url);
      const signed = signRequestHeaders(signerOf(xaKeys), {
        method: "POST",
        url: evalUrl.href,
        body,
        contentType: "application/json",
        now: Math.floor(nowMs / 1000),
      });
      const altered = await fetch(evalUrl, {
        method: "POST",
        headers: signed,
        body: body.replace("evaluate", "evaluatf"),
      });
      expect(altered.status).toBe(401);
      expect(((await altered.json()) as { code: string }).code).toBe("ERR_SIGNATURE_INVALID");

      const stale = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"))),
        now: () => nowMs / 1000 - 3600,
      });
      const e3 = await stale.fetchFilter(peer, "fiu-mou").catch((e: unknown) => e);
      expect((e3 as AccordError).code, "an hour old").toBe("ERR_SIGNATURE_INVALID");
    });

    it("detects a tampered proof or evaluation: the requester finalizes nothing", async () => {
      const keys = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
      const http = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(keys),
        now: () => nowMs / 1000,
      });
      const flip = (s: string, at: number): string => {
        const b = Buffer.from(s, "base64url");
        b[at] = (b[at] ?? 0) ^ 1;
        return b.toString("base64url");
      };
      for (const tamper of ["proof", "element"] as const) {
        // An adversary between the nodes (or a dishonest responder) changes the answer.
        const transport: MatchTransport = {
          fetchFilter: (p, a) => http.fetchFilter(p, a),
          evaluate: async (p, b) => {
            const r = (await http.evaluate(p, b)) as Record<string, unknown>;
            if (tamper === "proof") return { ...r, proof: flip(r.proof as string, 3) };
            const els = r.evaluated_elements as string[];
            return { ...r, evaluated_elements: [flip(els[0]!, 0).slice(0, 43)] };
          },
          psi: (p, b) => http.psi(p, b),
          fileRequest: (p, b) => http.fileRequest(p, b),
          notifyDecision: (p, b) => http.notifyDecision(p, b),
        };
        const requester = new MatchService({
          nodeId: "XA",
          keys,
          store: xa.store,
          clock,
          random: { bytes: (n) => new Uint8Array(n), uuid: () => crypto.randomUUID() },
          logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
          node: xa.node,
          transport,
          matchSecret: new Uint8Array(32).fill(7),
          logDigests: new LogDigests(new Uint8Array(32).fill(8)),
        });
        const err = await requester
          .query({ partner: "XB", agreementId: "fiu-mou", kind: "iban", values: [HELD_IBAN] })
          .catch((e: unknown) => e);
        expect(err, tamper).toBeInstanceOf(AccordError);
        expect(["ERR_SIGNATURE_INVALID", "ERR_MALFORMED_INPUT"]).toContain(
          (err as AccordError).code,
        );
        if (tamper === "proof") expect((err as AccordError).code).toBe("ERR_SIGNATURE_INVALID");
      }
    });
  });

  describe("budgets", () => {
    it("answers 429 with the reset time when the burst or the day is spent", async () => {
      const ask = () => query({ agreement: "budget-day", value: OTHER_IBAN });
      // budget-day: 4 a day, 1 a minute.
      advance(60_000 - (nowMs % 60_000) + 1000);
      expect((await ask()).status).toBe(200);
      const burst = await ask();
      expect(burst.status).toBe(429);
      expect(burst.body.code).toBe("ERR_BUDGET_EXHAUSTED");
      const nextMinute = new Date(Math.floor(nowMs / 60_000) * 60_000 + 60_000).toISOString();
      expect(burst.body.retry_at).toBe(nextMinute);
      expect(burst.body.detail).toContain(`resets at ${nextMinute}`);

      // The responder's own answer carries Retry-After.
      for (let i = 0; i < 3; i++) {
        advance(60_000);
        expect((await ask()).status).toBe(200);
      }
      advance(60_000);
      const day = await ask();
      expect(day.status).toBe(429);
      const midnight = new Date(Math.floor(nowMs / 86_400_000) * 86_400_000 + 86_400_000);
      expect(day.body.retry_at).toBe(midnight.toISOString());
      expect(day.body.detail).toContain("daily");
      const cli = await accord(0, [
        "match",
        "query",
        "--partner",
        "XB",
        "--agreement",
        "budget-day",
        "--kind",
        "iban",
        OTHER_IBAN,
      ]);
      expect(cli.code, "refused: exit 4").toBe(4);
      expect(cli.err).toContain("ERR_BUDGET_EXHAUSTED");
      expect(cli.err).toContain(`resets at ${midnight.toISOString()}`);

      const keys = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
      const raw = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(keys),
        now: () => nowMs / 1000,
      });
      const peer = (await xa.store.peers.get("XB"))!;
      const doc = (await raw.fetchFilter(peer, "budget-day")) as { epoch: number };
      const suite = await loadOprfSuite();
      const pk = (await raw.fetchFilter(peer, "budget-day")) as { public_key: string };
      const b = suite.poprf.blind(
        matchInput(normalizeIdentifier("iban", OTHER_IBAN)),
        matchInfo("budget-day", doc.epoch),
        new Uint8Array(Buffer.from(pk.public_key, "base64url")),
      );
      const res = await fetchSigned(raw, xb.url, {
        accord: "match-evaluate/1",
        query_id: "7a1d6c0e-8f3a-4f0e-9a53-2f7d0b8e4c13",
        agreement: "budget-day",
        epoch: doc.epoch,
        kind: "iban",
        purpose: "aml-cft",
        blinded_elements: [Buffer.from(b.blindedElement).toString("base64url")],
      });
      expect(res.status).toBe(429);
      const retryAfter = Number(res.headers.get("retry-after"));
      // Retry-After counts from the server's wall clock to the reset of the (test-clock) window.
      const body = (await res.json()) as { retry_at: string };
      expect(body.retry_at).toBe(midnight.toISOString());
      expect(Math.abs(retryAfter - (Date.parse(body.retry_at) - Date.now()) / 1000)).toBeLessThan(
        10,
      );

      const denials = await decisionsAtXb("budget-day", "deny");
      expect(denials.map((e) => e.data.clauses)).toContainEqual([
        "budget-day v1 §queries.budget_per_day",
      ]);
    });

    it("feeds decide() what the budget port says was spent today: past the day, denied quoting §queries.budget_per_day", async () => {
      const ask = () => query({ agreement: "budget-port", value: OTHER_IBAN });
      const spent = () =>
        xb.store.budgets.used({
          agreementId: "budget-port",
          partner: "XA",
          window: "day",
          at: clock.now().toISOString(),
        });
      // Two of the three spent today, recorded through the port (as earlier queries would).
      const pre = await xb.store.budgets.consume({
        agreementId: "budget-port",
        partner: "XA",
        window: "day",
        limit: 3,
        at: clock.now().toISOString(),
        cost: 2,
      });
      expect(pre.allowed).toBe(true);
      expect((await ask()).status, "the third query of the day").toBe(200);
      expect(await spent()).toBe(3);

      const refused = await ask();
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe("ERR_BUDGET_EXHAUSTED");
      // decide() refused, not the atomic consume: its sentence quotes the count it was given.
      expect(refused.body.detail).toContain(
        "(denied: `XA` has used 3 of 3 hit/no-hit queries today under `budget-port` v1 §queries.budget_per_day)",
      );
      expect(await spent(), "a refusal spends nothing").toBe(3);
      const denials = await decisionsAtXb("budget-port", "deny");
      expect(denials.map((e) => e.data.clauses)).toEqual([
        ["budget-port v1 §queries.budget_per_day"],
      ]);
    });

    it("applies the agreement's own burst budget instead of a quarter of the day", async () => {
      const ask = () => query({ agreement: "small-burst", value: OTHER_IBAN });
      advance(60_000 - (nowMs % 60_000) + 1000);
      expect((await ask()).status).toBe(200);
      const refused = await ask();
      expect(refused.status, "a burst of 1, not 20 / 4 = 5").toBe(429);
      expect(refused.body.detail).toContain("burst");
      advance(60_000);
      expect((await ask()).status, "the next minute has its own burst").toBe(200);
      const denials = await decisionsAtXb("small-burst", "deny");
      expect(denials.map((e) => e.data.clauses)).toEqual([
        ["small-burst v1 §queries.budget_per_burst"],
      ]);
    });

    it("never overspends under parallel requests, and a refused batch spends nothing", async () => {
      // budget-burst: 6 a day, 2 a minute.
      const fire = async (n: number) => {
        const results = await Promise.all(
          Array.from({ length: n }, () => query({ agreement: "budget-burst", value: OTHER_IBAN })),
        );
        for (const r of results) expect([200, 429]).toContain(r.status);
        return results.filter((r) => r.status === 200).length;
      };
      advance(60_000 - (nowMs % 60_000) + 1000);
      const batch = await query({
        agreement: "budget-burst",
        values: [OTHER_IBAN, OTHER_IBAN, OTHER_IBAN],
      });
      expect(batch.status, "3 elements exceed a burst of 2").toBe(429);
      let granted = await fire(12);
      expect(granted, "one minute's burst").toBe(2);
      for (let minute = 0; minute < 5; minute++) {
        advance(60_000);
        granted += await fire(8);
      }
      expect(granted, "the day's budget, exactly").toBe(6);
      const permits = await decisionsAtXb("budget-burst", "permit");
      expect(permits).toHaveLength(6);
      expect(
        await xb.store.budgets.used({
          agreementId: "budget-burst",
          partner: "XA",
          window: "day",
          at: clock.now().toISOString(),
        }),
      ).toBe(6);
    });
  });

  describe("bulk PSI", () => {
    it("finds the shared identifiers, or only how many, and is budgeted like queries", async () => {
      advance(86_400_000);
      const list = [OTHER_IBAN, HELD_IBAN, "FR14 2004 1010 0505 0001 3M02 606"];
      const r = await api(xa, "POST", "/api/v1/match/psi", {
        partner: "XB",
        agreement: "fiu-mou",
        kind: "iban",
        values: list,
        mode: "intersection",
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ ours: 3, theirs: 1, size: 1, shared: [1] });
      advance(60_000);
      const c = await api(xa, "POST", "/api/v1/match/psi", {
        partner: "XB",
        agreement: "fiu-mou",
        kind: "iban",
        values: list,
        mode: "cardinality",
      });
      expect(c.body).toMatchObject({ size: 1 });
      expect(c.body).not.toHaveProperty("shared");
      const tooMany = await api(xa, "POST", "/api/v1/match/psi", {
        partner: "XB",
        agreement: "budget-burst",
        kind: "iban",
        values: list,
      });
      expect(tooMany.status).toBe(429);
      const psiLog = (await ledgerOf(xb)).filter((e) => e.data.mode === "psi");
      expect(psiLog.map((e) => e.data.effect)).toEqual(["permit", "permit", "deny"]);
    });
  });

  describe("bulk PSI on the worker threads", () => {
    it("keeps answering other requests while a large PSI list is worked through", async () => {
      advance(86_400_000);
      const n = 20_000;
      const list = Array.from({ length: n }, (_, i) => (i === 12_345 ? HELD_IBAN : germanIban(i)));
      const at = () => clock.now().toISOString();
      const state = { settled: false };
      const psi = api(xa, "POST", "/api/v1/match/psi", {
        partner: "XB",
        agreement: "bulk",
        kind: "iban",
        values: list,
      }).finally(() => {
        state.settled = true;
      });
      // While the PSI is under way, XB keeps answering; count the answers it gave after it had
      // authorised (and spent the budget of) the session, i.e. while working through the list.
      let during = 0;
      const settled = () => state.settled;
      while (!settled()) {
        const health = await fetch(new URL("/healthz", xb.url));
        const status = await api(xb, "GET", "/api/v1/node");
        const spent = await xb.store.budgets.used({
          agreementId: "bulk",
          partner: "XA",
          window: "day",
          at: at(),
        });
        if (settled()) break;
        expect(health.status).toBe(200);
        expect(status.status).toBe(200);
        if (spent === n) during++;
      }
      const r = await psi;
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(200);
      expect(r.body).toMatchObject({ ours: n, theirs: 1, size: 1, shared: [12_345] });
      expect(
        during,
        "requests XB answered while it worked through the list",
      ).toBeGreaterThanOrEqual(5);
    });
  });

  describe("bulk PSI, malformed", () => {
    it("refuses a list with an invalid element, naming its position, before spending anything", async () => {
      const keys = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
      const client = new HttpMatchClient({
        nodeId: "XA",
        signer: signerOf(keys),
        now: () => nowMs / 1000,
      });
      const peer = (await xa.store.peers.get("XB"))!;
      const valid = Buffer.from(
        (await loadOprfSuite()).poprf.blind(
          matchInput(normalizeIdentifier("iban", OTHER_IBAN)),
          matchInfo("bulk", 0),
          (await loadOprfSuite()).poprf.deriveKeyPair(new Uint8Array(32).fill(1), new Uint8Array())
            .publicKey,
        ).blindedElement,
      ).toString("base64url");
      const identity = Buffer.alloc(32).toString("base64url");
      const before = await xb.store.budgets.used({
        agreementId: "bulk",
        partner: "XA",
        window: "day",
        at: clock.now().toISOString(),
      });
      const err = await client
        .psi(peer, {
          accord: "match-psi/1",
          session_id: "5b1d6c0e-8f3a-4f0e-9a53-2f7d0b8e4c14",
          agreement: "bulk",
          kind: "iban",
          purpose: "aml-cft",
          mode: "intersection",
          elements: [valid, valid, valid, identity, valid],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AccordError);
      expect((err as AccordError).code).toBe("ERR_MALFORMED_INPUT");
      expect((err as AccordError).message).toContain("position 3");
      expect(
        await xb.store.budgets.used({
          agreementId: "bulk",
          partner: "XA",
          window: "day",
          at: clock.now().toISOString(),
        }),
      ).toBe(before);
    });
  });

  describe("keys", () => {
    /**
     * Runs `during` in the middle of the first request whose URL contains `path`: after the
     * answer has been made (`after`), or before the request is sent (`before`). The messages in
     * flight were signed with the key current before `during` ran.
     */
    const inTheMiddle = async <T>(
      path: string,
      when: "before" | "after",
      during: () => Promise<void>,
      run: () => Promise<T>,
    ): Promise<T> => {
      const original = globalThis.fetch;
      let pending = true;
      globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
        const url = args[0] instanceof Request ? args[0].url : String(args[0]);
        if (!pending || !url.includes(path)) return original(...args);
        pending = false;
        if (when === "before") await during();
        const res = await original(...args);
        if (when === "after") await during();
        return res;
      };
      try {
        return await run();
      } finally {
        globalThis.fetch = original;
      }
    };
    const rotate = async (n: RunningNode) => {
      const r = await api(n, "POST", "/api/v1/keys/rotate", { overlap: "7d" });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      await n.deliverNow();
    };

    it("accepts a filter and answers XB signed just before it rotated, and refuses them once that key is revoked", async () => {
      const before = xb.node.fingerprint();
      const r = await inTheMiddle(
        `${FILTERS_PATH}/fiu-mou`,
        "after",
        () => rotate(xb),
        () => query({ value: HELD_IBAN }),
      );
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.hits).toEqual([true]);
      const pinned = (await xa.store.peers.get("XB"))!;
      expect(jwkThumbprint(pinned.signingKey as never), "XA pinned XB's new key").toBe(
        xb.node.fingerprint(),
      );
      expect(xb.node.fingerprint()).not.toBe(before);

      // Again, but XB revokes the key that signed the answers while they are in flight.
      advance(61_000); // past XA's filter cache
      const signedBy = xb.node.fingerprint();
      const refused = await inTheMiddle(
        `${FILTERS_PATH}/fiu-mou`,
        "after",
        async () => {
          await rotate(xb);
          const k = await api(xb, "POST", "/api/v1/keys/revoke", { fingerprint: signedBy });
          expect(k.status, JSON.stringify(k.body)).toBe(200);
          await xb.deliverNow();
        },
        () => query({ value: HELD_IBAN }),
      );
      expect(refused.status).toBe(401);
      expect(refused.body.code).toBe("ERR_SIGNATURE_INVALID");
      expect((await query({ value: HELD_IBAN })).body.hits, "the new key answers").toEqual([true]);
    });

    it("opens a follow-up request XA sealed with the key it rotated away from while the request was on its way", async () => {
      const hit = await query({ value: HELD_IBAN });
      expect(hit.body.hits).toEqual([true]);
      const before = xa.node.fingerprint();
      const filed = await inTheMiddle(
        `${xb.url}/federation/v1/match/requests`,
        "before",
        () => rotate(xa),
        () =>
          api(xa, "POST", "/api/v1/match/requests", {
            query: hit.body.queryId,
            value: HELD_IBAN,
            legal_basis: "Directive (EU) 2019/1153 art. 8",
          }),
      );
      expect(xa.node.fingerprint()).not.toBe(before);
      expect(filed.status, JSON.stringify(filed.body)).toBe(201);
      const id = filed.body.id as string;
      expect((await api(xb, "GET", `/api/v1/match/requests/${id}`)).body.status).toBe("pending");
      const pinned = (await xb.store.peers.get("XA"))!;
      expect(jwkThumbprint(pinned.signingKey as never), "XB pinned XA's new key").toBe(
        xa.node.fingerprint(),
      );
    });

    it("detects a responder that evaluates with another key than the one it published", async () => {
      const cached = await query({ value: HELD_IBAN }); // XA now holds XB's filter and key
      expect(cached.body.hits).toEqual([true]);
      await xb.stop();
      rmSync(matchSecretPath(join(dirs[1]!.dir, "keys", "node-keys.json")));
      xb = await start(dirs[1]!, { clock }); // same port, same node keys, a new match secret
      const r = await query({ value: HELD_IBAN });
      expect(r.status).toBe(401);
      expect(r.body.code).toBe("ERR_SIGNATURE_INVALID");
      expect(r.body.detail).toContain("proof");
      expect(xbPort).toBeGreaterThan(0);
    });
  });
});

/** A valid German IBAN (ISO 13616, mod 97-10 check digits) numbered `i`. */
function germanIban(i: number): string {
  const bban = `50010517${String(i).padStart(10, "0")}`;
  // Country code letters as numbers (D = 13, E = 14), then "00": 98 minus the remainder.
  const check = 98n - (BigInt(`${bban}131400`) % 97n);
  return `DE${String(check).padStart(2, "0")}${bban}`;
}

/** The RFC 9421 signer of a node's keys. */
function signerOf(keys: ReturnType<typeof generateNodeKeys>) {
  return { key: keys.signing.privateKey, keyId: jwkThumbprint(keys.signing.publicJwk) };
}

/** POST a signed evaluation and return the raw response (to read its headers). */
async function fetchSigned(
  client: HttpMatchClient,
  base: string,
  body: Record<string, unknown>,
): Promise<Response> {
  let captured: Response | undefined;
  const original = globalThis.fetch;
  globalThis.fetch = async (...args: Parameters<typeof fetch>) => {
    const res = await original(...args);
    captured = res.clone();
    return res;
  };
  try {
    await client
      .call({ nodeId: "XB", url: base } as never, "POST", EVALUATIONS_PATH, body)
      .catch(() => undefined);
  } finally {
    globalThis.fetch = original;
  }
  if (captured === undefined) throw new Error("no response");
  return captured;
}
