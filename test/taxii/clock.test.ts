/**
 * The TAXII server reads the node's clock, not the system's (spec/taxii.md, "Paging and filters";
 * STYLE.md: the clock is injected): a node started with a clock set months away from today stamps
 * date added, the X-TAXII-Date-Added headers, statuses and log entries with that clock's time,
 * `added_after` compares against it, and a partner collection is computed for the agreements in
 * force at that time, over real HTTP with a real node on SQLite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { RunningNode } from "../../src/cli/compose.js";
import { TaxiiService, collectionId } from "../../src/app/taxii.js";
import { systemRandom } from "../../src/cli/compose.js";
import {
  createNodeDir,
  makeTempDir,
  movableClock,
  removeDir,
  signAgreements,
  start,
} from "../support/nodes.js";
import { basic, indicator, taxii } from "./helpers.js";

/** Seven months before this suite was written, inside the regional accord (2026-01-01 to 2027-06-30). */
const T0 = "2026-05-01T10:00:00.000Z";
const DAY = 86_400_000;
const ROOT = "/taxii2/api/";

describe("the TAXII server on the node's clock", () => {
  let root: string;
  let xa: RunningNode;
  const clock = movableClock(T0);
  let op: string;
  let reader: string;
  let writer: string;
  const local = collectionId("XA", "local");
  const readerCollection = collectionId("XA", "partner:xb-reader");
  const writerCollection = collectionId("XA", "partner:xb-writer");

  beforeAll(async () => {
    root = makeTempDir("accord-taxii-clock-");
    xa = await start(createNodeDir(root, { id: "XA" }), { clock });
    await signAgreements([xa]); // XB and XC sign on paper: the accord is in force at T0
    op = `Bearer ${xa.apiToken}`;
    const service = new TaxiiService({
      node: xa.node,
      store: xa.store,
      apiToken: xa.apiToken,
      clock,
      random: systemRandom,
    });
    const r = await service.createCredential({
      id: "xb-reader",
      partner: "XB",
      purpose: "cyber-defence",
    });
    reader = `Bearer ${r.token}`;
    const w = await service.createCredential({
      id: "xb-writer",
      partner: "XB",
      purpose: "cyber-defence",
      canWrite: true,
    });
    writer = basic("xb-writer", w.secret);
  });

  afterAll(async () => {
    await xa.stop();
    removeDir(root);
  });

  const objectsOf = (collection: string, auth: string, query = "") =>
    taxii(xa.url, `${ROOT}collections/${collection}/objects/?${query}`, { auth });

  it("stamps date added, headers, statuses and log entries with the node's time, and filters by it", async () => {
    const first = [indicator(1), indicator(2)];
    const posted = await taxii(xa.url, `${ROOT}collections/${local}/objects/`, {
      auth: op,
      body: { objects: first },
    });
    expect(posted.status).toBe(202);
    expect(posted.body.request_timestamp, "the operator's status").toBe(T0);

    // A day later on the node's clock, a partner writes through its collection.
    clock.advance(DAY);
    const t1 = clock.now().toISOString();
    const fromXb = indicator(3);
    const written = await taxii(xa.url, `${ROOT}collections/${writerCollection}/objects/`, {
      auth: writer,
      body: { objects: [fromXb] },
    });
    expect(written.status).toBe(202);
    expect(written.body).toMatchObject({ success_count: 1, request_timestamp: t1 });
    expect((await xa.store.objects.get(fromXb.id as string))?.storedAt, "stored at").toBe(t1);

    const all = await objectsOf(local, op, "match[type]=indicator");
    expect(all.status).toBe(200);
    expect(all.body.objects.map((o: { id: string }) => o.id)).toEqual([
      ...first.map((o) => o.id),
      fromXb.id,
    ]);
    // Date added is the node's time to the microsecond (a POST's objects one microsecond apart).
    expect(all.headers.get("x-taxii-date-added-first")).toBe("2026-05-01T10:00:00.000000Z");
    expect(all.headers.get("x-taxii-date-added-last")).toBe(`${t1.slice(0, 23)}000Z`);
    const versions = await taxii(
      xa.url,
      `${ROOT}collections/${local}/objects/${first[1]!.id as string}/versions/`,
      { auth: op },
    );
    expect(versions.headers.get("x-taxii-date-added-first")).toBe("2026-05-01T10:00:00.000001Z");

    // added_after between the two writes: only the partner's object, by the node's dates.
    const noon = "2026-05-01T12:00:00.000Z";
    const after = await objectsOf(local, op, `match[type]=indicator&added_after=${noon}`);
    expect(after.body.objects.map((o: { id: string }) => o.id)).toEqual([fromXb.id]);
    const later = await objectsOf(local, op, `added_after=${t1.slice(0, 19)}.000001Z`);
    expect(later.body.objects ?? []).toEqual([]);

    // The writes' log entries carry the node's time as well.
    const entries = await xa.store.ledger.list(0, 10_000);
    const taxiiWrites = entries.filter(
      (e) => e.kind === "taxii" && (e.data as { op?: string }).op === "add-objects",
    );
    expect(taxiiWrites.map((e) => e.at)).toEqual([T0, t1]);
    const decisions = entries.filter(
      (e) => e.kind === "decision" && (e.data as { via?: string }).via === "taxii",
    );
    expect(decisions.map((e) => e.at)).toEqual([t1]);
  });

  it("computes a partner collection for the agreements in force at the node's time", async () => {
    const id = `indicator--${randomUUID()}`;
    const posted = await taxii(xa.url, `${ROOT}collections/${local}/objects/`, {
      auth: op,
      body: { objects: [indicator(9, { id })] },
    });
    expect(posted.status).toBe(202);
    const inForce = await objectsOf(readerCollection, reader);
    expect(inForce.status).toBe(200);
    expect(inForce.body.objects.length, "released while the accord is in force").toBeGreaterThan(0);

    // Past the accord's sunset (2027-06-30) on the node's clock, nothing is released any more,
    // whatever the system clock says.
    clock.advance(450 * DAY);
    expect(clock.now().toISOString() > "2027-07-01").toBe(true);
    const afterSunset = await objectsOf(readerCollection, reader);
    expect(afterSunset.status).toBe(200);
    expect(afterSunset.body.objects ?? []).toEqual([]);
    expect(afterSunset.body.more).toBe(false);
    // The operator's own collection still holds everything.
    const own = await objectsOf(local, op, `match[id]=${id}`);
    expect(own.body.objects.map((o: { id: string }) => o.id)).toEqual([id]);
  });
});
