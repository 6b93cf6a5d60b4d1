/**
 * The signature exchange carries any number of lifecycle events (spec/agreement.md "Signature
 * exchange"): more than 256 travel in pages, one signed message each, in both directions, over
 * real HTTP between real nodes. Before paging, a message carried only the last 256 events, so a
 * partner never learnt the earlier ones and the exchange never completed.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { canonicalize } from "../../src/crypto/jcs.js";
import { sha256Hex } from "../../src/crypto/hash.js";
import { signJson } from "../../src/crypto/sign.js";
import { api, type TestNodeDir, startNodes, type TestNodes } from "../support/nodes.js";

const ID = "regional-cyber-accord";

/**
 * `n` lifecycle events recorded by `node` (signed with its key, stored as the node stores its
 * own), one a second from `from`, alternating suspend and resume so the agreement ends resumed.
 */
async function record(n: RunningNode, dir: TestNodeDir, count: number, from: number) {
  const keys = loadNodeKeys(join(dir.dir, "keys", "node-keys.json"));
  for (let i = 0; i < count; i++) {
    const body = {
      type: "accord-agreement-event/1",
      agreement: ID,
      kind: i % 2 === 0 ? "suspend" : "resume",
      at: new Date(from + i * 1000).toISOString(),
      by: n.node.id,
      party: null,
      reason: `drill ${String(i)} by ${n.node.id}`,
      recorded_by: n.node.id,
    } as const;
    await n.store.agreementState.putEvent({
      id: sha256Hex(canonicalize(body)),
      agreement: ID,
      kind: body.kind,
      at: body.at,
      by: body.by,
      party: null,
      reason: body.reason,
      recordedBy: n.node.id,
      jws: await signJson(body, keys.signing.privateKey),
      recordedAt: new Date().toISOString(),
    });
  }
  await n.node.agreementBook.load();
}

describe("signature exchanges with more than 256 events", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let dirs: TestNodes<"XA" | "XB">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }], {
      prefix: "accord-exchange-paging-",
      sign: false,
    });
    ({
      dirs,
      nodes: { XA: xa, XB: xb },
    } = nodes);
  });

  afterAll(() => nodes.stop());

  it("sends every page of this node's events and follows every page of the partner's", async () => {
    const day = Date.parse("2026-06-01T00:00:00.000Z");
    // XA holds 600 of its own events (three pages), XB 300 of its own (two pages).
    await record(xa, dirs.XA, 600, day);
    await record(xb, dirs.XB, 300, day + 3_600_000);
    const jwsOf = async (n: RunningNode) =>
      new Set((await n.store.agreementState.events(ID)).map((e) => e.jws));
    const atXa = await jwsOf(xa);
    const atXb = await jwsOf(xb);
    expect([atXa.size, atXb.size]).toEqual([600, 300]);

    const r = await api(xa, "POST", `/api/v1/agreements/${ID}/sync`, {});
    expect(r.status).toBe(200);
    expect((r.body.pushed as { node: string; ok: boolean }[]).find((p) => p.node === "XB")).toEqual(
      { node: "XB", ok: true },
    );
    // Both now hold all 900, the first of XA's as well as the last (what one message of 256
    // could not carry), each verified and stored once.
    const both = new Set([...atXa, ...atXb]);
    expect(await jwsOf(xa)).toEqual(both);
    expect(await jwsOf(xb)).toEqual(both);
    expect((await xb.store.agreementState.events(ID)).length).toBe(900);
    // In the same order on both nodes (by instant, then as stored).
    const order = async (n: RunningNode) =>
      (await n.store.agreementState.events(ID)).map((e) => e.id);
    expect(await order(xb)).toEqual(await order(xa));
    // The exchange XA owed XB is done (its answer showed XB holds every event XA recorded), and
    // each event is logged once on XB, as received from XA.
    const owed = await xa.store.agreementState.exchanges(ID);
    expect(owed.find((x) => x.partner === "XB")?.status).toBe("done");
    const logged = (await xb.store.ledger.list(0, 100_000)).filter(
      (e) => e.kind === "agreement-event" && e.data.via === "XA",
    );
    expect(logged).toHaveLength(600);
  });

  it("refuses a message that claims an impossible page, or more than 256 events", async () => {
    const { parseMessage } = await import("../../src/app/agreements.js");
    const base = {
      type: "accord-agreement-exchange/1",
      from: "XA",
      to: "XB",
      at: new Date().toISOString(),
      agreement: ID,
      version: 1,
      hash: "0".repeat(64),
      signatures: [],
      events: [],
      jws: "x..y",
    };
    expect(() => parseMessage({ ...base, page: -1 })).toThrow("`page` must be an integer");
    expect(() => parseMessage({ ...base, pages: 0 })).toThrow("`pages` must be an integer");
    expect(() => parseMessage({ ...base, page: 1.5 })).toThrow("`page` must be an integer");
    expect(() => parseMessage({ ...base, events: new Array(257).fill({}) })).toThrow("at most 256");
  });
});
