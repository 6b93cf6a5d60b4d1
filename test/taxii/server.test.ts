/**
 * The TAXII 2.1 server over real HTTP on loopback, a real node and real SQLite (spec/taxii.md):
 * every endpoint, pagination under concurrent inserts, added_after, match filters, negotiation,
 * authentication, partner views computed by the agreement, and POSTs through the accept decision.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import type { RunningNode } from "../../src/cli/compose.js";
import { AUDIT_DELAY_MS, TaxiiService, collectionId } from "../../src/app/taxii.js";
import { systemClock, systemRandom } from "../../src/cli/compose.js";
import { createNodeDir, makeTempDir, removeDir, signAgreements, start } from "../support/nodes.js";
import { GREEN, RED, TAXII, basic, indicator, taxii } from "./helpers.js";

let root: string;
let xa: RunningNode;
let op: string;
let service: TaxiiService;
let local: string;
let partnerToken: string;
let partnerCollection: string;
let writerSecret: string;
const ROOT = "/taxii2/api/";

beforeAll(async () => {
  root = makeTempDir("accord-taxii-");
  xa = await start(createNodeDir(root, { id: "XA" }));
  // XB and XC sign on paper: the regional accord is in force at XA.
  await signAgreements([xa]);
  await signAgreements([xa]); // XB and XC sign on paper: the accord is in force
  op = `Bearer ${xa.apiToken}`;
  service = new TaxiiService({
    node: xa.node,
    store: xa.store,
    apiToken: xa.apiToken,
    clock: systemClock,
    random: systemRandom,
  });
  local = collectionId("XA", "local");
  const reader = await service.createCredential({
    id: "xb-reader",
    partner: "XB",
    purpose: "cyber-defence",
  });
  partnerToken = `Bearer ${reader.token}`;
  partnerCollection = collectionId("XA", "partner:xb-reader");
  const writer = await service.createCredential({
    id: "xb-writer",
    partner: "XB",
    purpose: "cyber-defence",
    canWrite: true,
  });
  writerSecret = writer.secret;
});

afterAll(async () => {
  await xa.stop();
  removeDir(root);
});

const post = (collection: string, objects: unknown[], auth = op) =>
  taxii(xa.url, `${ROOT}collections/${collection}/objects/`, { auth, body: { objects } });

describe("discovery, API root, collections", () => {
  it("serves discovery and the API root with the TAXII media type", async () => {
    const d = await taxii(xa.url, "/taxii2/", { auth: op });
    expect(d.status).toBe(200);
    expect(d.headers.get("content-type")).toBe(TAXII);
    expect(d.body.api_roots).toEqual([`${xa.url}/taxii2/api/`]);
    expect(d.body.default).toBe(`${xa.url}/taxii2/api/`);
    const r = await taxii(xa.url, ROOT, { auth: op });
    expect(r.status).toBe(200);
    expect(r.body.versions).toEqual([TAXII]);
    expect(r.body.max_content_length).toBeGreaterThan(1000);
  });

  it("shows the operator the local collection and every partner view, a partner only its own", async () => {
    const o = await taxii(xa.url, `${ROOT}collections/`, { auth: op });
    const ids = o.body.collections.map((c: { id: string }) => c.id);
    expect(ids).toEqual([local, partnerCollection, collectionId("XA", "partner:xb-writer")]);
    expect(o.body.collections[0]).toMatchObject({ can_read: true, can_write: true });
    expect(o.body.collections[1]).toMatchObject({ can_read: true, can_write: false });
    const p = await taxii(xa.url, `${ROOT}collections/`, { auth: partnerToken });
    expect(p.body.collections).toHaveLength(1);
    expect(p.body.collections[0]).toMatchObject({
      id: partnerCollection,
      can_read: true,
      can_write: false,
      media_types: ["application/stix+json;version=2.1"],
    });
    const one = await taxii(xa.url, `${ROOT}collections/${partnerCollection}/`, {
      auth: partnerToken,
    });
    expect(one.body.id).toBe(partnerCollection);
    const hidden = await taxii(xa.url, `${ROOT}collections/${local}/objects/`, {
      auth: partnerToken,
    });
    expect(hidden.status).toBe(404);
    expect(hidden.body.error_code).toBe("ERR_NOT_FOUND");
  });
});

describe("authentication and negotiation", () => {
  it("answers 401 with a TAXII error and WWW-Authenticate without or with wrong credentials", async () => {
    for (const auth of [
      undefined,
      "Bearer nope",
      `Bearer xb-reader.${"A".repeat(43)}`,
      basic("xb-reader", "wrong"),
      basic("operator", "wrong"),
      basic("nobody", writerSecret),
      "Digest abc",
    ]) {
      const r = await taxii(xa.url, "/taxii2/", auth === undefined ? {} : { auth });
      expect(r.status, String(auth)).toBe(401);
      expect(r.headers.get("content-type")).toBe(TAXII);
      expect(r.headers.get("www-authenticate")).toMatch(/Basic/);
      expect(r.body).toMatchObject({ http_status: "401", error_code: "ERR_UNAUTHENTICATED" });
      expect(typeof r.body.title).toBe("string");
    }
  });

  it("accepts Basic for the operator and for a partner credential", async () => {
    expect((await taxii(xa.url, "/taxii2/", { auth: basic("operator", xa.apiToken) })).status).toBe(
      200,
    );
    expect(
      (await taxii(xa.url, "/taxii2/", { auth: basic("xb-writer", writerSecret) })).status,
    ).toBe(200);
  });

  it("answers 406 to an Accept it cannot satisfy and 415 to a POST that is not TAXII", async () => {
    for (const accept of ["application/json", "application/taxii+json;version=2.0", "text/html"]) {
      const r = await taxii(xa.url, ROOT, { auth: op, accept });
      expect(r.status, accept).toBe(406);
      expect(r.body.error_code).toBe("ERR_NOT_ACCEPTABLE");
    }
    expect((await taxii(xa.url, ROOT, { auth: op, accept: "application/taxii+json" })).status).toBe(
      200,
    );
    const r = await taxii(xa.url, `${ROOT}collections/${local}/objects/`, {
      auth: op,
      body: { objects: [indicator(1)] },
      contentType: "application/json",
    });
    expect(r.status).toBe(415);
    expect(r.body.error_code).toBe("ERR_UNSUPPORTED_MEDIA_TYPE");
  });

  it("labels every successful answer with exactly the TAXII media type", async () => {
    // taxii2client (the OASIS reference client) compares Content-Type with its Accept token by
    // token and refuses `application/taxii+json; version="2.1"; charset=utf-8`.
    const id = `indicator--${randomUUID()}`;
    const added = await post(local, [indicator(90, { id })]);
    const objects = `${ROOT}collections/${local}/objects/`;
    for (const [path, auth] of [
      ["/taxii2/", op],
      [ROOT, op],
      [`${ROOT}collections/`, op],
      [`${ROOT}collections/${local}/`, op],
      [`${ROOT}status/${added.body.id as string}/`, op],
      [objects, op],
      [`${objects}${id}/`, op],
      [`${objects}${id}/versions/`, op],
      [`${ROOT}collections/${local}/manifest/`, op],
      [`${ROOT}collections/${partnerCollection}/objects/`, partnerToken],
    ] as const) {
      const r = await taxii(xa.url, path, { auth });
      expect(r.status, path).toBe(200);
      expect(r.headers.get("content-type"), path).toBe(TAXII);
    }
  });

  it("answers unknown paths with a TAXII 404", async () => {
    const r = await taxii(xa.url, `${ROOT}nothing/`, { auth: op });
    expect(r.status).toBe(404);
    expect(r.headers.get("content-type")).toBe(TAXII);
    expect(r.body.http_status).toBe("404");
  });
});

describe("objects in the local collection", () => {
  it("adds objects, reports a status, and refuses an envelope with invalid STIX whole", async () => {
    const objs = [indicator(1), indicator(2)];
    const r = await post(local, objs);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: "complete", total_count: 2, success_count: 2 });
    const s = await taxii(xa.url, `${ROOT}status/${r.body.id as string}/`, { auth: op });
    expect(s.body).toEqual(r.body);

    const before = await xa.store.objects.count();
    const bad = { ...indicator(3), pattern_type: undefined, valid_from: "yesterday" };
    const refused = await post(local, [indicator(4), bad]);
    expect(refused.status).toBe(422);
    expect(refused.body.error_code).toBe("ERR_STIX_INVALID");
    expect(refused.body.details.errors.length).toBeGreaterThan(0);
    expect(await xa.store.objects.count()).toBe(before);

    const notJson = await fetch(new URL(`${ROOT}collections/${local}/objects/`, xa.url), {
      method: "POST",
      headers: { authorization: op, accept: TAXII, "content-type": TAXII },
      body: "{nope",
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error_code: string }).error_code).toBe(
      "ERR_MALFORMED_INPUT",
    );
  });

  it("pages stably in date-added order while objects are being added, with date headers", async () => {
    const type = `x-page-${randomUUID().slice(0, 8)}`;
    // Custom objects of a fresh type keep this test's page apart from the others'.
    const custom = (n: number) => ({
      type,
      spec_version: "2.1",
      id: `${type}--${randomUUID()}`,
      created: "2026-03-01T00:00:00.000Z",
      modified: "2026-03-01T00:00:00.000Z",
      x_n: n,
    });
    for (let i = 0; i < 5; i++) expect((await post(local, [custom(i)])).status).toBe(202);
    const seen: number[] = [];
    let next: string | undefined;
    let pages = 0;
    let lastHeader = "";
    for (;;) {
      const q = `match[type]=${type}&limit=2${next === undefined ? "" : `&next=${next}`}`;
      const r = await taxii(xa.url, `${ROOT}collections/${local}/objects/?${q}`, { auth: op });
      expect(r.status).toBe(200);
      pages++;
      const objs = (r.body.objects ?? []) as { x_n: number }[];
      seen.push(...objs.map((o) => o.x_n));
      if (objs.length > 0) {
        const first = r.headers.get("x-taxii-date-added-first") ?? "";
        const last = r.headers.get("x-taxii-date-added-last") ?? "";
        expect(first).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        expect(first <= last).toBe(true);
        expect(first > lastHeader).toBe(true);
        lastHeader = last;
      }
      // Concurrent writers: objects added while the client pages arrive at the end, once.
      if (pages === 1) await post(local, [custom(5), custom(6)]);
      if (pages === 2) await post(local, [custom(7)]);
      if (!r.body.more) break;
      next = r.body.next as string;
      expect(next).toMatch(/^\d+$/);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it("filters by added_after exactly at a page's last date", async () => {
    const type = `x-after-${randomUUID().slice(0, 8)}`;
    const mk = (n: number) => ({
      type,
      spec_version: "2.1",
      id: `${type}--${randomUUID()}`,
      created: "2026-03-01T00:00:00.000Z",
      modified: "2026-03-01T00:00:00.000Z",
      x_n: n,
    });
    await post(local, [mk(0), mk(1), mk(2), mk(3)]); // one request: date_added still distinct
    const p1 = await taxii(
      xa.url,
      `${ROOT}collections/${local}/objects/?match[type]=${type}&limit=2`,
      {
        auth: op,
      },
    );
    const last = p1.headers.get("x-taxii-date-added-last") ?? "";
    const rest = await taxii(
      xa.url,
      `${ROOT}collections/${local}/objects/?match[type]=${type}&added_after=${last}`,
      { auth: op },
    );
    expect(rest.body.objects.map((o: { x_n: number }) => o.x_n)).toEqual([2, 3]);
    expect(rest.body.more).toBe(false);
    const bad = await taxii(xa.url, `${ROOT}collections/${local}/objects/?added_after=yesterday`, {
      auth: op,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error_code).toBe("ERR_BAD_REQUEST");
  });

  it("filters by match[id], match[type], match[version] and match[spec_version]", async () => {
    const id = `indicator--${randomUUID()}`;
    const v1 = indicator(10, { id, modified: "2026-03-01T00:00:00.000Z" });
    const v2 = indicator(10, { id, modified: "2026-03-02T00:00:00.000Z" });
    const v3 = indicator(10, { id, modified: "2026-03-03T00:00:00.000Z" });
    await post(local, [v1, v2, v3]);
    const q = (s: string) =>
      taxii(xa.url, `${ROOT}collections/${local}/objects/?${s}`, { auth: op });
    const versions = async (s: string) =>
      ((await q(s)).body.objects ?? []).map((o: { modified: string }) => o.modified);
    expect(await versions(`match[id]=${id}`)).toEqual(["2026-03-03T00:00:00.000Z"]);
    expect(await versions(`match[id]=${id}&match[version]=first`)).toEqual([
      "2026-03-01T00:00:00.000Z",
    ]);
    expect(await versions(`match[id]=${id}&match[version]=all`)).toEqual([
      "2026-03-01T00:00:00.000Z",
      "2026-03-02T00:00:00.000Z",
      "2026-03-03T00:00:00.000Z",
    ]);
    expect(await versions(`match[id]=${id}&match[version]=first,last`)).toEqual([
      "2026-03-01T00:00:00.000Z",
      "2026-03-03T00:00:00.000Z",
    ]);
    expect(await versions(`match[id]=${id}&match[version]=2026-03-02T00:00:00.000Z`)).toEqual([
      "2026-03-02T00:00:00.000Z",
    ]);
    expect(await versions(`match[id]=${id}&match[spec_version]=2.0`)).toEqual([]);
    expect(await versions(`match[id]=${id}&match[spec_version]=2.1`)).toHaveLength(1);
    expect(await versions(`match[id]=${id}&match[type]=malware`)).toEqual([]);
    expect(await versions(`match[id]=${id}&match[type]=malware,indicator`)).toHaveLength(1);
    const unknown = await q("match[name]=x");
    expect(unknown.status).toBe(400);
    expect((await q("limit=0")).status).toBe(400);
    expect((await q("next=abc")).status).toBe(400);

    // object by id, its versions, the manifest
    const one = await taxii(xa.url, `${ROOT}collections/${local}/objects/${id}/`, { auth: op });
    expect(one.body.objects).toHaveLength(1);
    const vs = await taxii(xa.url, `${ROOT}collections/${local}/objects/${id}/versions/`, {
      auth: op,
    });
    expect(vs.body.versions).toEqual([
      "2026-03-01T00:00:00.000Z",
      "2026-03-02T00:00:00.000Z",
      "2026-03-03T00:00:00.000Z",
    ]);
    expect(vs.headers.get("x-taxii-date-added-first")).toBeTruthy();
    const man = await taxii(xa.url, `${ROOT}collections/${local}/manifest/?match[id]=${id}`, {
      auth: op,
    });
    expect(man.body.objects).toEqual([
      {
        id,
        date_added: expect.stringMatching(/Z$/),
        version: "2026-03-03T00:00:00.000Z",
        media_type: "application/stix+json;version=2.1",
      },
    ]);
    expect(man.headers.get("x-taxii-date-added-last")).toBe(man.body.objects[0].date_added);

    // delete one version, then the rest
    const del = await taxii(
      xa.url,
      `${ROOT}collections/${local}/objects/${id}/?match[version]=2026-03-03T00:00:00.000Z`,
      { auth: op, method: "DELETE" },
    );
    expect(del.status).toBe(200);
    expect(await versions(`match[id]=${id}`)).toEqual(["2026-03-02T00:00:00.000Z"]);
    expect(
      (
        await taxii(xa.url, `${ROOT}collections/${local}/objects/${id}/`, {
          auth: op,
          method: "DELETE",
        })
      ).status,
    ).toBe(200);
    const gone = await taxii(xa.url, `${ROOT}collections/${local}/objects/${id}/`, { auth: op });
    expect(gone.status).toBe(404);
    expect(gone.body.error_code).toBe("ERR_NOT_FOUND");
  });
});

describe("partner collections", () => {
  it("never shows a denied object or a stripped property, and logs each read", async () => {
    const allowed = indicator(20);
    const red = indicator(21, { marking: RED });
    const identity = {
      type: "identity",
      spec_version: "2.1",
      id: `identity--${randomUUID()}`,
      created: "2026-03-01T00:00:00.000Z",
      modified: "2026-03-01T00:00:00.000Z",
      name: "Example operator",
      identity_class: "organization",
      contact_information: "soc@example.org",
      object_marking_refs: [GREEN],
    };
    const vuln = {
      type: "vulnerability",
      spec_version: "2.1",
      id: `vulnerability--${randomUUID()}`,
      created: "2026-03-01T00:00:00.000Z",
      modified: "2026-03-01T00:00:00.000Z",
      name: "CVE-2026-0001",
      object_marking_refs: [GREEN],
    };
    expect((await post(local, [allowed, red, identity, vuln])).status).toBe(202);

    const ledgerBefore = await xa.store.ledger.size();
    // Copies may travel under re-issued ids, so the partner's objects are told apart by name.
    const seen = new Map<string, Record<string, unknown>>();
    let next: string | undefined;
    for (;;) {
      const r = await taxii(
        xa.url,
        `${ROOT}collections/${partnerCollection}/objects/?limit=3${next === undefined ? "" : `&next=${next}`}`,
        { auth: partnerToken },
      );
      expect(r.status).toBe(200);
      for (const o of (r.body.objects ?? []) as Record<string, unknown>[])
        seen.set(o.name as string, o);
      if (!r.body.more) break;
      next = r.body.next as string;
    }
    expect(seen.has("scanner 20")).toBe(true);
    expect(seen.has("scanner 21")).toBe(false);
    expect(seen.has("CVE-2026-0001")).toBe(false);
    const id = seen.get("Example operator");
    expect(id).toBeDefined();
    expect(id?.contact_information).toBeUndefined();
    // Every object a partner sees carries Accord's provenance (agreement, purpose, retention).
    for (const o of seen.values()) expect(JSON.stringify(o.extensions)).toContain("cyber-defence");
    for (const o of seen.values()) expect(JSON.stringify(o)).not.toContain("soc@example.org");

    const copyId = seen.get("scanner 20")?.id as string;
    const one = await taxii(xa.url, `${ROOT}collections/${partnerCollection}/objects/${copyId}/`, {
      auth: partnerToken,
    });
    expect(one.status).toBe(200);
    expect(one.body.objects.map((o: { name: string }) => o.name)).toEqual(["scanner 20"]);
    const filtered = await taxii(
      xa.url,
      `${ROOT}collections/${partnerCollection}/objects/?match[id]=${copyId}`,
      { auth: partnerToken },
    );
    expect(filtered.body.objects).toHaveLength(1);
    for (const hiddenId of [red.id as string, vuln.id]) {
      const direct = await taxii(
        xa.url,
        `${ROOT}collections/${partnerCollection}/objects/${hiddenId}/`,
        { auth: partnerToken },
      );
      expect(direct.status).toBe(404);
      const vers = await taxii(
        xa.url,
        `${ROOT}collections/${partnerCollection}/objects/${hiddenId}/versions/`,
        { auth: partnerToken },
      );
      expect(vers.status).toBe(404);
    }
    const man = await taxii(
      xa.url,
      `${ROOT}collections/${partnerCollection}/manifest/?limit=1000`,
      {
        auth: partnerToken,
      },
    );
    const manIds = (man.body.objects as { id: string }[]).map((m) => m.id);
    expect(manIds).toContain(copyId);
    expect(manIds).toHaveLength(seen.size);

    // Reads are logged in group commits, AUDIT_DELAY_MS after the read (poll: machines are slow).
    const readsLogged = async () =>
      (await xa.store.ledger.list(ledgerBefore, 1000)).filter(
        (e) => e.kind === "taxii" && e.data.principal === "xb-reader",
      );
    let reads = await readsLogged();
    for (let i = 0; i < 100 && reads.length < 4; i++) {
      await new Promise((r) => setTimeout(r, AUDIT_DELAY_MS));
      reads = await readsLogged();
    }
    expect(reads.length).toBeGreaterThanOrEqual(4);
    expect(reads[0]?.data).toMatchObject({
      principal: "xb-reader",
      partner: "XB",
      op: "get-objects",
    });
    expect(JSON.stringify(reads)).not.toContain("soc@example.org");
  });

  it("finds an object by its re-issued id through the index, also for objects added later", async () => {
    const byId = (id: string) =>
      taxii(xa.url, `${ROOT}collections/${partnerCollection}/objects/${id}/`, {
        auth: partnerToken,
      });
    const first = indicator(50);
    expect((await post(local, [first])).status).toBe(202);
    // The id the partner knows: re-issued under the agreement's key (profile cyber-default).
    const reissued = xa.node.reissuedId("regional-cyber-accord", first.id as string) ?? "";
    expect(reissued).not.toBe(first.id);
    const one = await byId(reissued);
    expect(one.status).toBe(200);
    expect(one.body.objects.map((o: { name: string }) => o.name)).toEqual(["scanner 50"]);
    expect(await xa.store.taxii.originalIds(["regional-cyber-accord"], [reissued])).toEqual([
      first.id,
    ]);
    // The stored id is not what the partner sees.
    expect((await byId(first.id as string)).status).toBe(404);
    const markBefore = await xa.store.taxii.reissuedMark("regional-cyber-accord");

    // An object added after the index was brought up to date is found too (the index catches up).
    const later = indicator(51);
    expect((await post(local, [later])).status).toBe(202);
    const laterId = xa.node.reissuedId("regional-cyber-accord", later.id as string) ?? "";
    const matched = await taxii(
      xa.url,
      `${ROOT}collections/${partnerCollection}/objects/?match[id]=${laterId},${reissued}`,
      { auth: partnerToken },
    );
    expect(matched.status).toBe(200);
    expect(matched.body.objects.map((o: { id: string }) => o.id).sort()).toEqual(
      [reissued, laterId].sort(),
    );
    expect(await xa.store.taxii.reissuedMark("regional-cyber-accord")).toBeGreaterThan(markBefore);
    const vers = await taxii(
      xa.url,
      `${ROOT}collections/${partnerCollection}/objects/${laterId}/versions/`,
      { auth: partnerToken },
    );
    expect(vers.status).toBe(200);
    expect(vers.body.versions).toEqual([later.modified]);
  });

  it("refuses a POST from a read-only credential and a DELETE from a partner", async () => {
    const r = await post(partnerCollection, [indicator(30)], partnerToken);
    expect(r.status).toBe(403);
    expect(r.body.error_code).toBe("ERR_FORBIDDEN");
    const d = await taxii(
      xa.url,
      `${ROOT}collections/${partnerCollection}/objects/indicator--${randomUUID()}/`,
      { auth: partnerToken, method: "DELETE" },
    );
    expect(d.status).toBe(403);
  });

  it("puts a partner's POST through the accept decision, per object", async () => {
    const writerCollection = collectionId("XA", "partner:xb-writer");
    const auth = basic("xb-writer", writerSecret);
    const ok = indicator(40);
    const red = indicator(41, { marking: RED });
    const r = await post(writerCollection, [ok, red], auth);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ total_count: 2, success_count: 1, failure_count: 1 });
    expect(r.body.failures[0].id).toBe(red.id);
    expect(r.body.failures[0].message).toMatch(/denied/);
    const stored = await xa.store.objects.get(ok.id as string);
    expect(stored?.provenance).toMatchObject({
      originator: "XB",
      receivedFrom: "XB",
      agreementId: "regional-cyber-accord",
      purpose: "cyber-defence",
    });
    expect(await xa.store.objects.get(red.id as string)).toBeUndefined();
    // The status is the writer's: another credential cannot read it.
    const s = await taxii(xa.url, `${ROOT}status/${r.body.id as string}/`, { auth });
    expect(s.body.id).toBe(r.body.id);
    expect(
      (await taxii(xa.url, `${ROOT}status/${r.body.id as string}/`, { auth: partnerToken })).status,
    ).toBe(404);

    const before = await xa.store.objects.count();
    const refused = await post(
      writerCollection,
      [indicator(42), { type: "indicator", id: "x" }],
      auth,
    );
    expect(refused.status).toBe(422);
    expect(await xa.store.objects.count()).toBe(before);
  });

  it("stops answering a revoked credential", async () => {
    const c = await service.createCredential({
      id: "xb-temp",
      partner: "XB",
      purpose: "cyber-defence",
    });
    expect((await taxii(xa.url, "/taxii2/", { auth: `Bearer ${c.token}` })).status).toBe(200);
    await service.revokeCredential("xb-temp");
    expect((await taxii(xa.url, "/taxii2/", { auth: `Bearer ${c.token}` })).status).toBe(401);
  });
});
