/**
 * The transparency log between two real nodes over HTTP (SQLite, loopback): C2SP tiles and
 * checkpoints served under /api/v1/log (bearer token) and /federation/v1/log (RFC 9421 signed
 * partner requests), `accord log verify --url | --db`, `log prove`, `log tail`, and the check that
 * matches every share on the sender's log with the acceptance on the recipient's log.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logOrigin, logVerifier, readLogEntries, verifyLog } from "../../src/app/log.js";
import { matchSharesWithReceipts } from "../../src/app/log-match.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { openRemoteLog } from "../../src/cli/log.js";
import {
  decodeBase64,
  leafHash,
  openCheckpoint,
  tilePath,
  verifyInclusion,
} from "../../src/tlog/index.js";
import { runCli as cli } from "../support/cli.js";
import { api, startNodes, type TestNodes, demoBundle } from "../support/nodes.js";
import { signingKeyOf } from "../support/node-keys.js";

const bundle = demoBundle();

describe("the transparency log over HTTP between two nodes", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }]);
    ({ XA: xa, XB: xb } = nodes.nodes);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
    const share = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
    });
    expect(share.status).toBe(200);
    expect(share.body.outcomes[0].sent).toBeGreaterThan(0);
    // Delivery runs after the share; wait until XA logged the receipt.
    for (let i = 0; i < 50; i++) {
      const r = await api(xa, "GET", "/api/v1/ledger?from=0&limit=1000");
      if (r.body.entries.some((e: { kind: string }) => e.kind === "receipt")) break;
      await api(xa, "POST", "/api/v1/deliveries");
    }
  }, 60_000);

  afterAll(() => nodes.stop());

  const xaKey = () => {
    return logVerifier("XA", signingKeyOf(nodes.dirs.XA.dir));
  };

  it("serves a checkpoint signed with the node's key, tiles and bundles that match it", async () => {
    const cp = await api(xa, "GET", "/api/v1/log/checkpoint");
    expect(cp.status).toBe(200);
    expect(cp.type).toMatch(/^text\/plain/);
    const opened = openCheckpoint(cp.body as string, { origin: logOrigin("XA"), log: xaKey() });
    const size = opened.checkpoint.size;
    expect(size).toBe(await xa.store.ledger.size());
    expect(size).toBeGreaterThan(10);
    const res = await fetch(
      new URL(`/api/v1/log/${tilePath({ level: 0, index: 0, width: size })}`, xa.url),
      {
        headers: { authorization: `Bearer ${xa.apiToken}` },
      },
    );
    expect(res.status).toBe(200);
    const tile = new Uint8Array(await res.arrayBuffer());
    expect(tile.length).toBe(32 * size);
    const [first] = await xa.store.ledger.entries(0, 1);
    expect(Buffer.from(tile.subarray(0, 32))).toEqual(Buffer.from(leafHash(first!.bytes)));
    // A full tile or a wider partial tile than the tree has does not exist yet.
    expect((await api(xa, "GET", "/api/v1/log/tile/0/000")).status).toBe(404);
    expect((await api(xa, "GET", `/api/v1/log/tile/0/000.p/${String(size + 1)}`)).status).toBe(404);
    expect((await api(xa, "GET", "/api/v1/log/tile/0/0001")).status).toBe(404);

    const proof = await api(xa, "GET", `/api/v1/log/proof/inclusion?index=3&size=${String(size)}`);
    expect(proof.status).toBe(200);
    const path = (proof.body.proof as string[]).map((p) => decodeBase64(p)!);
    const [e3] = await xa.store.ledger.entries(3, 1);
    expect(verifyInclusion(3, size, leafHash(e3!.bytes), path, opened.checkpoint.rootHash)).toBe(
      true,
    );
    expect((await api(xa, "GET", "/api/v1/log/proof/inclusion?index=x")).status).toBe(400);
  });

  it("refuses to serve the log without a token or a partner's signature", async () => {
    for (const path of ["/api/v1/log/checkpoint", "/federation/v1/log/checkpoint"]) {
      const res = await fetch(new URL(path, xa.url));
      expect(res.status, path).toBe(401);
    }
  });

  it("`accord log verify --url` recomputes a node's log with a token and as a signed partner", async () => {
    const byToken = await cli(["log", "verify", "--url", xa.url, "--token", xa.apiToken, "--json"]);
    expect(byToken.err).toBe("");
    expect(byToken.code).toBe(0);
    const v = JSON.parse(byToken.out);
    expect(v).toMatchObject({ ok: true, signaturesChecked: true, checkpoints: 1 });
    expect(v.entries).toBe(await xa.store.ledger.size());

    const asPartner = await cli(["log", "verify", "--url", xa.url, "--dir", nodes.dirs.XB.dir]);
    expect(asPartner.code, asPartner.err).toBe(0);
    expect(asPartner.out).toMatch(/^log intact: \d+ entries/);

    // The remembered checkpoint: the next run checks the log still extends it.
    const state = join(nodes.root, "xa-checkpoint");
    expect(
      (await cli(["log", "verify", "--url", xa.url, "--token", xa.apiToken, "--state", state]))
        .code,
    ).toBe(0);
    await api(xa, "POST", "/api/v1/shares", { recipients: ["XB"], purpose: "cyber-defence" });
    const again = await cli([
      "log",
      "verify",
      "--url",
      xa.url,
      "--token",
      xa.apiToken,
      "--state",
      state,
      "--json",
    ]);
    expect(again.code, again.out).toBe(0);
    expect(JSON.parse(again.out).checkpoints).toBe(2);
  });

  it("`accord log prove` and `accord log tail` read the running node", async () => {
    const env = { ACCORD_PUBLIC_URL: xa.url };
    const prove = await cli(
      ["log", "prove", "--entry", "2", "--dir", nodes.dirs.XA.dir, "--json"],
      env,
    );
    expect(prove.code, prove.err).toBe(0);
    expect(JSON.parse(prove.out)).toMatchObject({ ok: true, index: 2 });
    const tail = await cli(["log", "tail", "--limit", "3", "--dir", nodes.dirs.XA.dir], env);
    expect(tail.code, tail.err).toBe(0);
    expect(tail.out.trim().split("\n")).toHaveLength(3);
    const bad = await cli(["log", "prove", "--entry", "two", "--dir", nodes.dirs.XA.dir], env);
    expect(bad.code).toBe(3);
  });

  it("matches every share on XA's log with the acceptance on XB's log, both read and verified over HTTP", async () => {
    const logs = [];
    for (const n of [xa, xb]) {
      const remote = await openRemoteLog(n.url, ".", {}, { token: n.apiToken });
      const verdict = await verifyLog(remote.source, {
        checkpoints: [remote.checkpoint],
        origin: remote.origin,
        verifier: remote.verifier,
      });
      expect(verdict.ok, verdict.problem).toBe(true);
      logs.push({ id: n.node.id, entries: await readLogEntries(remote.source) });
    }
    const [a, b] = logs as [(typeof logs)[0], (typeof logs)[0]];
    const report = matchSharesWithReceipts(a, b);
    expect(report.problems).toEqual([]);
    expect(report.matched).toBeGreaterThanOrEqual(1);
    expect(report.matched).toBe(a.entries.filter((e) => e.kind === "share").length);

    // Evidence either way: an acceptance missing from XB's log, or one XA never shared.
    const accept = b.entries.find((e) => e.kind === "accept")!;
    const missing = matchSharesWithReceipts(a, {
      ...b,
      entries: b.entries.filter((e) => e !== accept),
    });
    expect(missing.problems.map((p) => p.problem)).toEqual(["not-accepted"]);
    const forged = matchSharesWithReceipts(
      {
        ...a,
        entries: a.entries.filter(
          (e) => e.kind !== "share" || e.data.envelope !== accept.data.envelope,
        ),
      },
      b,
    );
    expect(forged.problems.map((p) => p.problem)).toEqual(["not-shared"]);
  });

  it("`accord log verify --db` names the first bad index after a row is edited in SQLite", async () => {
    const file = join(nodes.dirs.XB.dir, "accord.db");
    const ok = await cli(["log", "verify", "--db", file, "--dir", nodes.dirs.XB.dir, "--json"]);
    expect(ok.code, ok.out).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ ok: true, signaturesChecked: true });
    const raw = new Database(file);
    try {
      raw
        .prepare(
          "UPDATE log_entries SET entry = replace(entry, '\"kind\"', '\"kind\" ') WHERE idx = 1",
        )
        .run();
    } finally {
      raw.close();
    }
    const broken = await cli(["log", "verify", "--db", file, "--json"]);
    expect(broken.code).toBe(4);
    expect(JSON.parse(broken.out)).toMatchObject({ ok: false, firstBad: 1 });
    const human = await cli(["log", "verify", "--db", file]);
    expect(human.out).toMatch(/log BROKEN at entry 1/);
  });
});
