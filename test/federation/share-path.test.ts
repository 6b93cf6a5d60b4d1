/**
 * The share path of ARCHITECTURE.md end to end, over real HTTP between real nodes with real keys
 * and real databases: decide -> minimize -> seal -> outbox -> inbox -> verify -> decide(accept)
 * -> store with provenance -> signed receipt. And every kind of bad input the inbox and the API
 * must refuse without writing anything.
 */
import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealEnvelope } from "../../src/crypto/envelope.js";
import { generateNodeKeys } from "../../src/crypto/keys.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { verifyReceipt } from "../../src/crypto/receipt.js";
import { bundleBytes, SHARE_CHUNK_OBJECTS, verifyLedger } from "../../src/app/node.js";
import { expandDecisions } from "../../src/app/decision-log.js";
import { PROVENANCE_EXTENSION_DEFINITION, withProvenance } from "../../src/core/provenance.js";
import { SOURCE_GRADE_EXTENSION_DEFINITION } from "../../src/core/minimize/index.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { api, PG_URL, demoBundle, startNodes, type TestNodes } from "../support/nodes.js";
import { signedPost, signerOf } from "../support/peer-requests.js";
import { syntheticBundle } from "../../bench/synthetic.js";

const bundle = demoBundle();
const SUSPECT = "identity--91b322a3-331d-4bac-94c2-019caaf4b63a";
const C2 = "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4";
const CONTENT = "application/stix+json;version=2.1";

const variants = [
  { name: "SQLite", xbOnPostgres: false },
  ...(PG_URL === undefined ? [] : [{ name: "XB on PostgreSQL", xbOnPostgres: true }]),
];
if (PG_URL === undefined)
  console.warn("share-path: ACCORD_TEST_PG_URL is not set, so the PostgreSQL variant does not run");

describe.each(variants)("the share path ($name)", ({ xbOnPostgres }) => {
  let nodes: TestNodes<"XA" | "XB">;
  let dirs: TestNodes<"XA" | "XB">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode;
  /** The id XA's C2 indicator travelled under (re-issued per agreement by the profile). */
  let c2AtXb = C2;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB", postgres: xbOnPostgres }]);
    ({
      dirs,
      nodes: { XA: xa, XB: xb },
    } = nodes);
  });

  afterAll(() => nodes.stop());

  const sealFromXa = async (
    id: string,
    objects: unknown[],
    over: { sender?: string; key?: ReturnType<typeof generateNodeKeys> } = {},
  ) => {
    const keys = over.key ?? loadNodeKeys(join(dirs.XA.dir, "keys", "node-keys.json"));
    const peer = await xa.store.peers.get("XB");
    return sealEnvelope(
      {
        id,
        sender: over.sender ?? "XA",
        recipient: "XB",
        createdAt: new Date().toISOString(),
        contentType: CONTENT,
      },
      new TextEncoder().encode(
        JSON.stringify({
          type: "bundle",
          id: "bundle--5f4670b7-f571-47a1-8c00-e6fe76ef21be",
          objects,
        }),
      ),
      keys.signing.privateKey,
      peer!.encryptionKey as never,
    );
  };
  const postEnvelope = (envelope: string, type = "application/jose") =>
    signedPost(xb, signerOf(dirs.XA.dir), "/federation/v1/inbox", envelope, type);

  it("shares what the agreement permits, strips what it does not, and brings back a signed receipt", async () => {
    const ingest = await api(xa, "POST", "/api/v1/bundles", bundle);
    expect(ingest.status).toBe(201);
    expect(ingest.body).toMatchObject({ objects: 12, stored: 12, unchanged: 0 });

    const res = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
    });
    expect(res.status).toBe(200);
    const outcome = res.body.outcomes[0];
    expect(outcome.recipient).toBe("XB");
    expect(outcome.sent).toBe(11);
    expect(outcome.refused).toBe(1);
    const refusedIds = outcome.verdicts
      .filter((v: any) => v.effect === "deny")
      .map((v: any) => v.type)
      .sort();
    expect(refusedIds).toEqual(["note"]);
    const suspectVerdict = outcome.verdicts.find((v: any) => v.id === SUSPECT);
    expect(suspectVerdict.dropped).toEqual(
      expect.arrayContaining(["x_iban", "contact_information", "created_by_ref"]),
    );
    expect(suspectVerdict.reasons.map((r: any) => r.message)).toContain(
      "refused: property `x_iban` is not permitted for `identity` under `regional-cyber-accord` v1 §data.types.identity.properties",
    );

    await xa.deliverNow();
    const [item] = await xa.store.outbox.list({ limit: 10 });
    expect(item?.status).toBe("delivered");
    const xbPeer = await xa.store.peers.get("XB");
    const claims = await verifyReceipt(item!.receipt!, xbPeer!.signingKey as never);
    expect(claims).toMatchObject({
      envelopeId: item!.id,
      recipient: "XB",
      sender: "XA",
      accepted: 11,
      rejected: 0,
    });

    c2AtXb = outcome.verdicts.find((v: any) => v.id === C2).sentAs;
    const copy = await xb.store.objects.get(suspectVerdict.sentAs);
    expect(copy).toBeDefined();
    expect(copy!.object).not.toHaveProperty("x_iban");
    expect(copy!.object).not.toHaveProperty("contact_information");
    expect(copy!.object).not.toHaveProperty("extensions");
    expect(copy!.provenance).toMatchObject({
      originator: "XA",
      receivedFrom: "XA",
      agreementId: "regional-cyber-accord",
      agreementVersion: 1,
      purpose: "cyber-defence",
      envelopeId: item!.id,
    });
    expect(Date.parse(copy!.provenance.retentionUntil!)).toBeGreaterThan(
      Date.now() + 179 * 86_400_000,
    );
    expect(await xb.store.objects.count()).toBe(11);
    expect(
      await xb.store.objects.get("note--a5a378b2-9db1-47e7-b023-3c3d42a6184e"),
    ).toBeUndefined();
  });

  it("records every decision, the share and the receipt on the sender, and every acceptance on the recipient", async () => {
    const xaLedger = await xa.store.ledger.list(0, 1000);
    // The share's twelve decisions are batched into one `decisions` entry, each expandable.
    expect(xaLedger.filter((e) => e.kind === "decision")).toHaveLength(0);
    const batches = xaLedger.filter((e) => e.kind === "decisions");
    expect(batches).toHaveLength(1);
    const decisions = xaLedger.flatMap(expandDecisions);
    expect(decisions).toHaveLength(12);
    expect(decisions.filter((e) => e.data.effect === "deny")).toHaveLength(1);
    expect(decisions.map((d) => d.index)).toEqual([...Array(12).keys()]);
    for (const d of decisions)
      expect(d.data).toMatchObject({ action: "share", partner: "XB", purpose: "cyber-defence" });
    const shareEntry = xaLedger.find((e) => e.kind === "share");
    const receiptEntry = xaLedger.find((e) => e.kind === "receipt");
    expect(receiptEntry?.data.envelope).toBe(shareEntry?.data.envelope);
    const xbLedger = await xb.store.ledger.list(0, 1000);
    const accept = xbLedger.find((e) => e.kind === "accept");
    expect(accept?.data).toMatchObject({
      envelope: shareEntry?.data.envelope,
      sender: "XA",
      accepted: 11,
      rejected: 0,
    });
    const accepted = xbLedger.flatMap(expandDecisions);
    expect(accepted).toHaveLength(11);
    for (const d of accepted)
      expect(d.data).toMatchObject({
        action: "accept",
        partner: "XA",
        envelope: shareEntry?.data.envelope,
        effect: "permit",
      });
    // Metadata only: no ledger entry carries the IBAN or the suspect's e-mail.
    const all = JSON.stringify([xaLedger, xbLedger]);
    expect(all).not.toContain("DE89");
    expect(all).not.toContain("k.varga");
    expect((await verifyLedger(xa.store)).firstBroken).toBe(-1);
    expect((await verifyLedger(xb.store)).firstBroken).toBe(-1);
  });

  it("answers a redelivered envelope with its first receipt and stores nothing twice", async () => {
    // XA drops a delivered envelope's bytes with its receipt, so this one is sealed here as XA.
    const [item] = await xa.store.outbox.list({ limit: 10 });
    expect(item?.envelope).toBeNull();
    const envelope = await sealFromXa(randomUUID(), [PROVENANCE_EXTENSION_DEFINITION]);
    const first = await postEnvelope(envelope);
    expect(first.status).toBe(200);
    expect(first.body.duplicate).toBe(false);
    const before = {
      objects: await xb.store.objects.count(),
      ledger: await xb.store.ledger.size(),
    };
    const res = await postEnvelope(envelope);
    expect(res.status).toBe(200);
    expect(res.body.duplicate).toBe(true);
    expect(res.body.receipt).toBe(first.body.receipt);
    expect({
      objects: await xb.store.objects.count(),
      ledger: await xb.store.ledger.size(),
    }).toEqual(before);
  });

  it("refuses an envelope id replayed with other content", async () => {
    const [item] = await xa.store.outbox.list({ limit: 10 });
    const forged = await sealFromXa(item!.id, [PROVENANCE_EXTENSION_DEFINITION]);
    const res = await postEnvelope(forged);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe("ERR_REPLAY");
  });

  describe("bad input leaves nothing written and the node running", () => {
    let before: { objects: number; ledger: number };
    beforeAll(async () => {
      before = { objects: await xb.store.objects.count(), ledger: await xb.store.ledger.size() };
    });
    afterAll(async () => {
      expect({
        objects: await xb.store.objects.count(),
        ledger: await xb.store.ledger.size(),
      }).toEqual(before);
      expect((await api(xb, "GET", "/healthz")).status).toBe(200);
    });

    it("refuses an envelope signed by a key that is not the sender's", async () => {
      const res = await postEnvelope(
        await sealFromXa(crypto.randomUUID(), [], { key: generateNodeKeys() }),
      );
      expect(res.status).toBe(401);
      expect(res.type).toContain("application/problem+json");
      expect(res.body.code).toBe("ERR_SIGNATURE_INVALID");
    });

    it("refuses an envelope from a node that is not a partner", async () => {
      const res = await postEnvelope(
        await sealFromXa(crypto.randomUUID(), [], { sender: "XZ", key: generateNodeKeys() }),
      );
      expect(res.status).toBe(403);
      expect(res.body.code).toBe("ERR_UNKNOWN_PARTNER");
      expect(res.body.detail).toContain("`XZ`");
    });

    it("refuses garbage where an envelope should be", async () => {
      const res = await postEnvelope("this.is.not.an.envelope");
      expect(res.status).toBe(400);
      expect(res.body.code).toMatch(/^ERR_(ENVELOPE_INVALID|MALFORMED_INPUT)$/);
    });

    it("refuses a sealed envelope whose STIX is invalid, naming the object and the path", async () => {
      const bad = withProvenance(
        {
          type: "indicator",
          spec_version: "2.1",
          id: "indicator--c8ab7bfa-ada2-4d35-b8ed-c5a821654675",
          created: "2026-11-20T08:20:00.000Z",
          modified: "2026-11-20T08:20:00.000Z",
          pattern_type: "stix",
          valid_from: "2026-11-20T08:20:00Z",
        },
        {
          originator: "XA",
          agreement: "regional-cyber-accord",
          agreement_version: 1,
          agreement_hash: "0".repeat(64),
          purpose: "cyber-defence",
          retention_until: "2027-01-01T00:00:00Z",
          onward_sharing: false,
        },
      );
      const res = await postEnvelope(
        await sealFromXa(crypto.randomUUID(), [PROVENANCE_EXTENSION_DEFINITION, bad]),
      );
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("ERR_STIX_INVALID");
      expect(
        res.body.errors.some(
          (d: any) =>
            d.objectId === "indicator--c8ab7bfa-ada2-4d35-b8ed-c5a821654675" &&
            `${d.path} ${d.message}`.includes("pattern"),
        ),
      ).toBe(true);
    });

    it("refuses an envelope posted with the wrong content type", async () => {
      const res = await postEnvelope("{}", "application/json");
      expect(res.status).toBe(415);
      expect(res.body.code).toBe("ERR_UNSUPPORTED_MEDIA_TYPE");
    });

    it("refuses a body larger than the node accepts", async () => {
      const res = await postEnvelope("a".repeat(17 << 20));
      expect(res.status).toBe(413);
      expect(res.body.code).toBe("ERR_BODY_TOO_LARGE");
    });

    it("refuses the node's own API without the bearer token", async () => {
      const res = await api(xb, "GET", "/api/v1/node", undefined, {
        authorization: "Bearer wrong",
      });
      expect(res.status).toBe(401);
      expect(res.body.code).toBe("ERR_UNAUTHENTICATED");
    });

    it("refuses malformed JSON on ingest", async () => {
      const res = await api(xb, "POST", "/api/v1/bundles", '{"type": "bundle", ');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("ERR_MALFORMED_INPUT");
    });

    it("refuses a bundle with one invalid object as a whole, naming the object id and the JSON path", async () => {
      const broken = structuredClone(bundle);
      broken.objects[3]!.created = "yesterday";
      const res = await api(xb, "POST", "/api/v1/bundles", broken);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe("ERR_STIX_INVALID");
      expect(res.body.errors).toContainEqual(
        expect.objectContaining({ objectId: C2, path: "$.objects[3].created" }),
      );
    });

    it("refuses a share to an unknown partner with a reason, and sends nothing", async () => {
      const res = await api(xb, "POST", "/api/v1/shares", {
        recipients: ["XD"],
        purpose: "cyber-defence",
        objects: [c2AtXb],
      });
      expect(res.status).toBe(200);
      expect(res.body.outcomes[0].sent).toBe(0);
      expect(res.body.outcomes[0].verdicts[0].reasons[0].message).toBe(
        "denied: `XD` is not a known partner of `XB`",
      );
      expect(await xb.store.outbox.list({ limit: 10 })).toHaveLength(0);
      // The refusals are decisions, and decisions are logged: account for them.
      before = { ...before, ledger: await xb.store.ledger.size() };
    });
  });
});

describe("the bundle text of a share", () => {
  it("is JSON.stringify of the bundle, built from each object's text written once", () => {
    const objects = [
      {
        type: "indicator",
        id: "indicator--1",
        name: 'quote " and \\ backslash',
        x: [1, 2.5, null],
      },
      { type: "note", id: "note--2", content: "ünïcødé \u2028 \ud83d\ude00 and a tab\t" },
    ];
    for (const list of [[], objects.slice(0, 1), objects]) {
      const id = 'bundle--"odd" id';
      expect(
        bundleBytes(
          id,
          list.map((o) => JSON.stringify(o)),
        ).toString("utf8"),
      ).toBe(
        JSON.stringify({
          type: "bundle",
          id,
          objects: [PROVENANCE_EXTENSION_DEFINITION, SOURCE_GRADE_EXTENSION_DEFINITION, ...list],
        }),
      );
    }
  });
});

describe("a share of more objects than one chunk", () => {
  let nodes: TestNodes<"XA" | "XB">;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }]);
  });

  afterAll(() => nodes.stop());

  it("commits chunk by chunk, each chunk's envelope delivered once as it commits", async () => {
    const { XA: xa, XB: xb } = nodes.nodes;
    const n = 2 * SHARE_CHUNK_OBJECTS + 7;
    const bundle = syntheticBundle(n, 11);
    await xa.node.ingest(bundle);
    const ids = bundle.objects.map((o) => o.id as string);
    const [outcome] = await xa.node.share(
      { recipients: ["XB"], purpose: "cyber-defence", objectIds: ids },
      { deliver: true },
    );
    expect(outcome?.sent).toBe(n);
    expect(outcome?.verdicts.map((v) => v.id)).toEqual(ids);
    // One envelope per chunk: a thousand synthetic objects are well under ENVELOPE_TARGET_BYTES.
    expect(outcome?.envelopes).toHaveLength(3);
    await xa.deliverNow();

    // Delivered at the first attempt, none left pending, none sent twice.
    const items = await xa.store.outbox.list({ limit: 10 });
    expect(items.map((i) => [i.id, i.status, i.attempts])).toEqual(
      outcome?.envelopes.map((id) => [id, "delivered", 0]),
    );
    const xaLedger = await xa.store.ledger.list(0, 10_000);
    const shares = xaLedger.filter((e) => e.kind === "share");
    expect(shares.map((e) => [e.data.envelope, e.data.objects])).toEqual(
      outcome?.envelopes.map((id, i) => [id, i < 2 ? SHARE_CHUNK_OBJECTS : 7]),
    );
    // Each chunk's decisions are logged before its `share` entry, in the chunk's transaction.
    const decided = xaLedger.flatMap(expandDecisions);
    expect(decided.map((d) => d.data.object)).toEqual(ids);
    shares.forEach((s, i) => {
      const last = decided[Math.min((i + 1) * SHARE_CHUNK_OBJECTS, n) - 1];
      expect(last?.seq).toBeLessThan(s.seq);
    });
    const receipts = xaLedger.filter((e) => e.kind === "receipt");
    expect(receipts.map((e) => e.data.envelope).sort()).toEqual(
      [...(outcome?.envelopes ?? [])].sort(),
    );

    const xbLedger = await xb.store.ledger.list(0, 10_000);
    expect(xbLedger.filter((e) => e.kind === "accept")).toHaveLength(3);
    expect(await xb.store.objects.count()).toBe(n);
    expect((await verifyLedger(xa.store)).firstBroken).toBe(-1);
  });

  it("a share that fails in its second chunk keeps the first whole and delivered, and nothing of the second", async () => {
    const { XA: xa, XB: xb } = nodes.nodes;
    const n = SHARE_CHUNK_OBJECTS + 5;
    const bundle = syntheticBundle(n, 12);
    await xa.node.ingest(bundle);
    const ids = bundle.objects.map((o) => o.id as string);
    const before = {
      outbox: (await xa.store.outbox.list({ limit: 100 })).length,
      ledger: await xa.store.ledger.size(),
      atXb: await xb.store.objects.count(),
    };
    // A real SQLite refusal, from a trigger: the second envelope this share enqueues is refused.
    const db = new Database(join(nodes.dirs.XA.dir, "accord.db"));
    const trigger = (sql: string) => db.exec(sql);
    trigger(`CREATE TRIGGER accord_test_fail_outbox BEFORE INSERT ON outbox
      WHEN (SELECT count(*) FROM outbox) > ${String(before.outbox)}
      BEGIN SELECT RAISE(ABORT, 'injected failure'); END;`);
    try {
      await expect(
        xa.node.share(
          { recipients: ["XB"], purpose: "cyber-defence", objectIds: ids },
          { deliver: true },
        ),
      ).rejects.toMatchObject({ code: "ERR_STORAGE" });
    } finally {
      trigger("DROP TRIGGER accord_test_fail_outbox");
      db.close();
    }
    await xa.deliverNow();
    const items = (await xa.store.outbox.list({ limit: 100 })).slice(before.outbox);
    expect(items.map((i) => [i.status, i.attempts])).toEqual([["delivered", 0]]);
    const added = (await xa.store.ledger.list(before.ledger, 10_000)).filter(
      (e) => e.kind !== "receipt",
    );
    expect(added.flatMap(expandDecisions).map((d) => d.data.object)).toEqual(
      ids.slice(0, SHARE_CHUNK_OBJECTS),
    );
    expect(added.filter((e) => e.kind === "share").map((e) => e.data.envelope)).toEqual([
      items[0]?.id,
    ]);
    expect(await xb.store.objects.count()).toBe(before.atXb + SHARE_CHUNK_OBJECTS);
  });
});
