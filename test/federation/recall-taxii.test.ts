/**
 * Recall and retention for copies that left through TAXII (spec/recall.md "Copies read by TAXII",
 * spec/taxii.md), over real HTTP between real nodes with real keys and real databases:
 *
 * - XB's analysts read XA's partner collection with a TAXII client: every page read is recorded
 *   as a copy for the credential; XA's recall shows a `taxii:` target outstanding until the
 *   operator confirms it.
 * - XB pulls the collection with `accord taxii pull --from XA`: the objects are stored as XA's,
 *   so XA's recall purges them at XB (whose acknowledgement covers the credential's target) and
 *   XB's retention purge removes them at their deadline.
 * - XB serves an object XA originated to XC through a partner collection only with XA's consent
 *   for exactly that hop; XC pulls it with `--from XB`, and XA's recall is relayed by XB to XC.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { systemClock, systemRandom } from "../../src/cli/compose.js";
import { TaxiiService, collectionId } from "../../src/app/taxii.js";
import { PROVENANCE_EXTENSION_ID } from "../../src/core/provenance.js";
import { verifyLedger } from "../../src/app/node.js";
import type { SharedCopy } from "../../src/app/ports.js";
import { runCli } from "../support/cli.js";
import {
  addOnwardPilot,
  api,
  demoBundle,
  freePort,
  movableClock,
  startNodes,
  type TestNodeDir,
  type TestNodes,
} from "../support/nodes.js";
import { C2, MALWARE, SECOND, storeVariants } from "../support/recall.js";
import { taxii } from "../taxii/helpers.js";

const bundle = demoBundle();
/** An indicator XA ingests later and shares under the onward-pilot agreement. */
const FRESH = "indicator--0b7e5c1d-2f3a-4b6c-8d9e-a1b2c3d4e5f6";
const ROOT = "/taxii2/api/";

describe.each(storeVariants)("recall and retention of TAXII copies ($name)", ({ onPostgres }) => {
  let nodes: TestNodes<"XA" | "XB" | "XC">;
  let dirs: TestNodes<"XA" | "XB" | "XC">["dirs"];
  let xa: RunningNode;
  let xb: RunningNode;
  let xc: RunningNode;
  const xbClock = movableClock();
  let readerAuth: string;
  let analystAuth: string;
  let readerTokenFile: string;
  const xaPartnerCollection = collectionId("XA", "partner:xb-reader");

  const taxiiService = (n: RunningNode) =>
    new TaxiiService({
      node: n.node,
      store: n.store,
      apiToken: n.apiToken,
      clock: systemClock,
      random: systemRandom,
    });

  const cli = (dir: TestNodeDir, ...argv: string[]) => runCli([...argv, "--dir", dir.dir]);

  /** Every object in a partner collection, page by page (`limit` 2, following `next`). */
  const readAll = async (base: string, collection: string, auth: string) => {
    const out: Record<string, unknown>[] = [];
    let next: string | undefined;
    for (let i = 0; i < 100; i++) {
      const q = `limit=2${next === undefined ? "" : `&next=${next}`}`;
      const r = await taxii(base, `${ROOT}collections/${collection}/objects/?${q}`, { auth });
      expect(r.status).toBe(200);
      out.push(...((r.body.objects ?? []) as Record<string, unknown>[]));
      if (r.body.more !== true) return out;
      next = r.body.next as string;
    }
    throw new Error("the collection did not end");
  };

  const taxiiCopies = async (n: RunningNode, id: string): Promise<SharedCopy[]> =>
    (await n.store.recalls.copiesOf(id)).filter((c) => c.credential != null);

  beforeAll(async () => {
    nodes = await startNodes(
      [
        { id: "XA", postgres: onPostgres, port: await freePort() },
        { id: "XB", postgres: onPostgres, port: await freePort(), options: { clock: xbClock } },
        { id: "XC", port: await freePort() },
      ],
      { prefix: "accord-recall-taxii-" },
    );
    ({
      dirs,
      nodes: { XA: xa, XB: xb, XC: xc },
    } = nodes);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);

    const service = taxiiService(xa);
    const reader = await service.createCredential({
      id: "xb-reader",
      partner: "XB",
      purpose: "cyber-defence",
    });
    readerAuth = `Bearer ${reader.token}`;
    readerTokenFile = join(nodes.root, "xb-reader-token");
    writeFileSync(readerTokenFile, `${reader.token}\n`, { mode: 0o600 });
    const analyst = await service.createCredential({
      id: "xb-analyst",
      partner: "XB",
      purpose: "cyber-defence",
    });
    analystAuth = `Bearer ${analyst.token}`;
  });

  afterAll(() => nodes.stop());

  it("records a copy per object version a partner reads, per credential; not for the operator's preview or a manifest", async () => {
    const preview = await readAll(xa.url, xaPartnerCollection, `Bearer ${xa.apiToken}`);
    expect(preview.length).toBeGreaterThan(3);
    const manifest = await taxii(xa.url, `${ROOT}collections/${xaPartnerCollection}/manifest/`, {
      auth: readerAuth,
    });
    expect(manifest.status).toBe(200);
    expect(manifest.body.objects.length).toBe(preview.length);
    for (const id of [C2, SECOND, MALWARE]) expect(await taxiiCopies(xa, id)).toEqual([]);

    const served = await readAll(xa.url, xaPartnerCollection, readerAuth);
    expect(served.map((o) => o.id)).toEqual(preview.map((o) => o.id));
    const [c2] = await taxiiCopies(xa, C2);
    expect(c2).toMatchObject({
      objectId: C2,
      version: "2026-11-20T08:20:00.000Z",
      recipient: "XB",
      envelopeId: "taxii:xb-reader",
      credential: "xb-reader",
      agreement: "regional-cyber-accord v1",
      purpose: "cyber-defence",
    });
    // The copy names the id the partner was served (the profile may re-issue ids).
    expect(served.map((o) => o.id)).toContain(c2!.sentAs);
    // Reading again records nothing new; every object served has exactly one copy.
    await readAll(xa.url, xaPartnerCollection, readerAuth);
    let copies = 0;
    for (const o of bundle.objects) copies += (await taxiiCopies(xa, String(o.id))).length;
    expect(copies).toBe(served.length);

    // One object by id, then its versions, with a second credential: recorded for it alone.
    const secondAs = (await taxiiCopies(xa, SECOND))[0]!.sentAs;
    const analystCollection = collectionId("XA", "partner:xb-analyst");
    const one = await taxii(
      xa.url,
      `${ROOT}collections/${analystCollection}/objects/${secondAs}/`,
      {
        auth: analystAuth,
      },
    );
    expect(one.status).toBe(200);
    expect(one.body.objects.map((o: { id: string }) => o.id)).toEqual([secondAs]);
    const versions = await taxii(
      xa.url,
      `${ROOT}collections/${analystCollection}/objects/${secondAs}/versions/`,
      { auth: analystAuth },
    );
    expect(versions.status).toBe(200);
    expect((await taxiiCopies(xa, SECOND)).map((c) => c.credential).sort()).toEqual([
      "xb-analyst",
      "xb-reader",
    ]);
    expect((await taxiiCopies(xa, C2)).map((c) => c.credential)).toEqual(["xb-reader"]);
  });

  it("a recall shows the TAXII credential outstanding until the operator confirms it", async () => {
    const c2As = (await taxiiCopies(xa, C2))[0]!.sentAs;
    const issued = await api(xa, "POST", "/api/v1/recalls", { object: C2, reason: "sinkhole" });
    expect(issued.status).toBe(201);
    expect(issued.body.outstanding).toEqual(["XB", "taxii:xb-reader"]);
    expect(issued.body.otherMeans).toEqual(["taxii:xb-reader"]);
    // The object is gone from every collection at once.
    const gone = await taxii(xa.url, `${ROOT}collections/${xaPartnerCollection}/objects/${c2As}/`, {
      auth: readerAuth,
    });
    expect(gone.status).toBe(404);

    // XB's node holds nothing (its analysts read with a TAXII tool): it acknowledges `not-held`,
    // which does not cover the credential.
    await xa.deliverNow();
    let status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body).toMatchObject({
      outstanding: ["taxii:xb-reader"],
      otherMeans: ["taxii:xb-reader"],
      complete: false,
    });
    const xbTarget = status.body.targets.find((t: { recipient: string }) => t.recipient === "XB");
    expect(xbTarget.ack.claims.outcome).toBe("not-held");

    const wrong = await api(xa, "POST", `/api/v1/recalls/${issued.body.id}/confirm`, {
      target: "XB",
    });
    expect(wrong.status).toBe(400);
    // The operator sees the TAXII reader's target and what to do from the CLI, and closes it there.
    const shown = await cli(dirs.XA, "recall", "status", issued.body.id as string);
    expect(shown.code, shown.err).toBe(4);
    expect(shown.out).toContain(
      `taxii:xb-reader (TAXII credential xb-reader of XB): outstanding; tell its holder by other means, then \`accord recall confirm ${issued.body.id as string} taxii:xb-reader\``,
    );
    expect(shown.out).toContain("to tell by other means and confirm: taxii:xb-reader");
    const notTaxii = await cli(dirs.XA, "recall", "confirm", issued.body.id as string, "XC");
    expect(notTaxii.code).not.toBe(0);
    const confirmed = await cli(
      dirs.XA,
      "recall",
      "confirm",
      issued.body.id as string,
      "xb-reader",
      "--json",
    );
    expect(confirmed.code, confirmed.err).toBe(0);
    expect(JSON.parse(confirmed.out)).toMatchObject({
      complete: true,
      outstanding: [],
      otherMeans: [],
    });
    const after = await cli(dirs.XA, "recall", "status", issued.body.id as string);
    expect(after.code, after.err).toBe(0);
    expect(after.out).toContain(
      "taxii:xb-reader (TAXII credential xb-reader of XB): confirmed by the operator at",
    );
    status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    const t = status.body.targets.find(
      (x: { recipient: string }) => x.recipient === "taxii:xb-reader",
    );
    expect(t).toMatchObject({
      status: "acknowledged",
      detail: { confirmedBy: "operator", credential: "xb-reader", partner: "XB" },
    });
    const logged = (await xa.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "recall-confirmed",
    );
    expect(logged.map((e) => e.data)).toEqual([
      { recall: issued.body.id, recipient: "taxii:xb-reader", channel: "taxii" },
    ]);
  });

  it("`accord taxii pull --from XA` stores XA's objects as XA's (provenance, agreement, retention)", async () => {
    const refused = await cli(dirs.XB, "taxii", "pull", `${xa.url}/taxii2/`, "--purpose", "x");
    expect(refused.code).not.toBe(0);
    expect(refused.err).toContain("--from");
    // XB pulls XA's partner collection with the reader's credential.
    const pull = (...args: string[]) =>
      cli(dirs.XB, "taxii", "pull", `${xa.url}/taxii2/`, "--token-file", readerTokenFile, ...args);
    const unknown = await pull("--from", "XZ");
    expect(unknown.code).not.toBe(0);
    expect(unknown.err).toContain("ERR_UNKNOWN_PARTNER");
    expect(await xb.store.objects.count()).toBe(0);
    // Without --from the pages would be ingested as XB's own, out of reach of XA's recall and
    // retention and free to be shared onward: objects with Accord provenance are refused whole.
    const asOwn = await pull();
    expect(asOwn.code).not.toBe(0);
    expect(asOwn.err).toContain("carries Accord provenance");
    expect(asOwn.err).toContain("--from PARTNER");
    expect(await xb.store.objects.count()).toBe(0);

    const pulled = await pull("--from", "XA", "--limit", "3", "--json");
    expect(pulled.code, pulled.err).toBe(0);
    const report = JSON.parse(pulled.out) as Record<string, number | string>;
    expect(report).toMatchObject({ from: "XA", rejected: 0, unchanged: 0, complete: true });
    expect(report.stored).toBe(report.objects);
    expect(await xb.store.objects.count()).toBe(report.objects);

    const secondAs = (await taxiiCopies(xa, SECOND))[0]!.sentAs;
    const held = await xb.store.objects.get(secondAs);
    expect(held?.provenance).toMatchObject({
      originator: "XA",
      receivedFrom: "XA",
      agreementId: "regional-cyber-accord",
      agreementVersion: 1,
      purpose: "cyber-defence",
      envelopeId: null,
    });
    // Indicators are kept 90 days under the accord; the provenance extension is not stored.
    const days = (Date.parse(held!.provenance.retentionUntil!) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(89);
    expect(days).toBeLessThan(91);
    expect(JSON.stringify(held!.object)).not.toContain(PROVENANCE_EXTENSION_ID);
    const entries = (await xb.store.ledger.list(0, 10_000)).filter((e) => e.kind === "taxii-pull");
    // One entry per ingest: pages that arrive while one is at the node go together in the next.
    expect(entries.length).toBe(Number(report.ingests));
    expect(entries[0]!.data).toMatchObject({ from: "XA", collection: xaPartnerCollection });
    expect(JSON.stringify(entries)).not.toContain("pattern");
    expect(JSON.stringify(entries)).not.toContain(xa.url);
  });

  it("XA's recall purges the pulled copy at XB, whose acknowledgement covers the credentials that read it", async () => {
    const secondAs = (await taxiiCopies(xa, SECOND))[0]!.sentAs;
    const issued = await api(xa, "POST", "/api/v1/recalls", { object: SECOND });
    expect(issued.status).toBe(201);
    expect(issued.body.outstanding).toEqual(["XB", "taxii:xb-analyst", "taxii:xb-reader"]);
    await xa.deliverNow();
    const status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body).toMatchObject({ complete: true, outstanding: [], acknowledged: 3 });
    for (const cred of ["taxii:xb-analyst", "taxii:xb-reader"])
      expect(
        status.body.targets.find((t: { recipient: string }) => t.recipient === cred).detail
          .coveredBy,
      ).toBe("XB");
    expect(await xb.store.objects.versions(secondAs)).toEqual([]);
    const applied = (await xb.store.ledger.list(0, 10_000)).filter(
      (e) => e.kind === "recall-applied",
    );
    expect(applied.find((e) => e.data.recall === issued.body.id)?.data).toMatchObject({
      from: "XA",
      purged: 1,
    });
  });

  it("serves another originator's object through a partner collection only with the originator's consent for that hop; the recall is relayed to the reader's node", async () => {
    // An agreement that allows onward hops, each with the originator's consent.
    await addOnwardPilot([xa, xb, xc], "regional-cyber-accord");
    const fresh = { ...bundle.objects.find((o) => o.id === SECOND)!, id: FRESH };
    expect(
      (
        await api(xa, "POST", "/api/v1/bundles", {
          type: "bundle",
          id: "bundle--5b1f0c3e-7a2d-4e8f-9c6b-3d4e5f6a7b8c",
          objects: [fresh],
        })
      ).status,
    ).toBe(201);
    const shared = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreement: "onward-pilot",
      objects: [FRESH],
    });
    expect(shared.body.outcomes[0].sent).toBe(1);
    await xa.deliverNow();
    const heldAtXb = (await xa.store.recalls.copiesOf(FRESH))[0]!.sentAs;
    expect((await xb.store.objects.get(heldAtXb))?.provenance.originator).toBe("XA");

    const xcReader = await taxiiService(xb).createCredential({
      id: "xc-reader",
      partner: "XC",
      purpose: "cyber-defence",
      agreementId: "onward-pilot",
    });
    const xcAuth = `Bearer ${xcReader.token}`;
    const xbCollection = collectionId("XB", "partner:xc-reader");
    // Without XA's consent, XB serves XC none of XA's objects.
    expect(await readAll(xb.url, xbCollection, xcAuth)).toEqual([]);
    const direct = await taxii(xb.url, `${ROOT}collections/${xbCollection}/objects/${heldAtXb}/`, {
      auth: xcAuth,
    });
    expect(direct.status).toBe(404);
    expect(await taxiiCopies(xb, heldAtXb)).toEqual([]);

    const expires = new Date(Date.now() + 86_400_000).toISOString();
    const grant = async (recipient: string) =>
      api(xa, "POST", "/api/v1/consents/grant", {
        object: FRESH,
        holder: "XB",
        recipient,
        agreement: "onward-pilot",
        purpose: "cyber-defence",
        expires,
      });
    expect((await grant("XC")).status).toBe(201);
    const served = await readAll(xb.url, xbCollection, xcAuth);
    expect(served).toHaveLength(1);
    const copy = served[0]!;
    const provenance = (copy.extensions as Record<string, Record<string, unknown>>)[
      PROVENANCE_EXTENSION_ID
    ]!;
    expect(provenance).toMatchObject({ originator: "XA", agreement: "onward-pilot" });
    expect(provenance.consents).toMatchObject([{ holder: "XB", recipient: "XC" }]);
    expect(await taxiiCopies(xb, heldAtXb)).toMatchObject([
      { recipient: "XC", credential: "xc-reader", sentAs: copy.id },
    ]);

    // XC pulls it as received from XB: the consent travelled with it and is checked there.
    const tokenFile = join(nodes.root, "xc-reader-token");
    writeFileSync(tokenFile, `${xcReader.token}\n`, { mode: 0o600 });
    const pulled = await cli(
      dirs.XC,
      "taxii",
      "pull",
      `${xb.url}/taxii2/`,
      "--token-file",
      tokenFile,
      "--from",
      "XB",
      "--json",
    );
    expect(pulled.code, pulled.err).toBe(0);
    expect(JSON.parse(pulled.out)).toMatchObject({ stored: 1, rejected: 0 });
    const atXc = await xc.store.objects.get(String(copy.id));
    expect(atXc?.provenance).toMatchObject({
      originator: "XA",
      receivedFrom: "XB",
      agreementId: "onward-pilot",
    });

    // XA's recall: XB purges and relays to XC (which read it through TAXII and pulled it); XC's
    // acknowledgement covers XB's credential target and is reported back to XA.
    const issued = await api(xa, "POST", "/api/v1/recalls", { object: FRESH });
    expect(issued.body.outstanding).toEqual(["XB"]);
    await xa.deliverNow();
    let status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body.outstanding).toEqual(["XC"]);
    await xb.deliverNow(); // the relay to XC
    await xb.deliverNow(); // the report to XA
    expect(await xc.store.objects.get(String(copy.id))).toBeUndefined();
    status = await api(xa, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(status.body).toMatchObject({ complete: true, acknowledged: 2 });
    const atXb = await api(xb, "GET", `/api/v1/recalls/${issued.body.id}`);
    expect(atXb.body).toMatchObject({ role: "received", complete: true });
    expect(
      atXb.body.targets.find((t: { recipient: string }) => t.recipient === "taxii:xc-reader").detail
        .coveredBy,
    ).toBe("XC");
  });

  it("XB's retention purge removes the pulled objects at their deadline and logs each", async () => {
    const before = await xb.store.objects.list({ limit: 1000 });
    const pulled = before.filter(
      (o) => o.provenance.receivedFrom === "XA" && o.provenance.envelopeId === null,
    );
    expect(pulled.length).toBeGreaterThan(0);
    expect((await api(xb, "POST", "/api/v1/purges")).body).toEqual({ purged: 0, versions: [] });
    xbClock.advance(91 * 86_400_000); // past the indicators' 90 days, not the 180-day default
    const mid = await api(xb, "POST", "/api/v1/purges");
    const indicators = pulled.filter((o) => o.object.type === "indicator").map((o) => o.object.id);
    expect(indicators.length).toBeGreaterThan(0);
    expect((mid.body.versions as { id: string }[]).map((v) => v.id).sort()).toEqual(
      expect.arrayContaining(indicators.sort()),
    );
    const malwareAs = pulled.find((o) => o.object.type === "malware")!.object.id;
    expect(await xb.store.objects.get(malwareAs)).toBeDefined();
    xbClock.advance(90 * 86_400_000);
    await xb.recalls.purgeExpired();
    expect(await xb.store.objects.get(malwareAs)).toBeUndefined();
    const purges = (await xb.store.ledger.list(0, 10_000)).filter((e) => e.kind === "purge");
    for (const o of pulled)
      expect(purges.find((p) => p.data.object === o.object.id)?.data).toMatchObject({
        reason: "retention",
        originator: "XA",
        receivedFrom: "XA",
      });
    for (const n of [xa, xb, xc]) expect((await verifyLedger(n.store)).firstBroken).toBe(-1);
  });

  it("refuses an invalid page whole and a page from a partner it does not know, storing nothing", async () => {
    const before = await xc.store.objects.count();
    const ledger = await xc.store.ledger.size();
    const bad = await api(xc, "POST", "/api/v1/taxii-pulls", {
      from: "XB",
      purpose: "cyber-defence",
      objects: [{ type: "indicator", id: "indicator--x" }],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe("ERR_STIX_INVALID");
    const stranger = await api(xc, "POST", "/api/v1/taxii-pulls", { from: "XQ", objects: [] });
    expect(stranger.status).toBe(403);
    expect(stranger.body.code).toBe("ERR_UNKNOWN_PARTNER");
    // A plain object (no Accord provenance) without a purpose is refused, with the reason.
    const { created_by_ref: _by, ...malware } = bundle.objects.find((o) => o.id === MALWARE)!;
    const plain = { ...malware, id: `malware--${crypto.randomUUID()}` };
    const noPurpose = await api(xc, "POST", "/api/v1/taxii-pulls", {
      from: "XB",
      objects: [plain],
    });
    expect(noPurpose.status).toBe(200);
    expect(noPurpose.body).toMatchObject({ stored: 0, rejected: 1 });
    expect(noPurpose.body.outcomes[0].reason).toContain("--purpose");
    expect(await xc.store.objects.count()).toBe(before);
    // With the purpose, the accept decision stores it as XB's.
    const withPurpose = await api(xc, "POST", "/api/v1/taxii-pulls", {
      from: "XB",
      purpose: "cyber-defence",
      agreement: "regional-cyber-accord",
      objects: [plain],
    });
    expect(withPurpose.body, JSON.stringify(withPurpose.body)).toMatchObject({
      stored: 1,
      rejected: 0,
    });
    expect((await xc.store.objects.get(plain.id))?.provenance).toMatchObject({
      originator: "XB",
      receivedFrom: "XB",
      agreementId: "regional-cyber-accord",
    });
    expect(await xc.store.ledger.size()).toBeGreaterThan(ledger);
  });
});
