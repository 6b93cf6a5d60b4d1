/**
 * `accord taxii pull` against a real TAXII server (XA's /taxii2/) over loopback HTTP, ingesting
 * into a second running node (XB): pagination, validation, bookmarks and resumption.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../../src/app/ports.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { systemClock, systemRandom } from "../../src/cli/compose.js";
import { main } from "../../src/cli/main.js";
import { TaxiiService, collectionId } from "../../src/app/taxii.js";
import { BOOKMARKS_FILE } from "../../src/cli/taxii.js";
import {
  createNodeDir,
  freePort,
  introduce,
  makeTempDir,
  movableClock,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";
import { indicator, taxii } from "./helpers.js";

let root: string;
let xa: RunningNode;
let xb: RunningNode;
let xbDir: TestNodeDir;
let tokenFile: string;
let collection: string;

async function run(
  args: string[],
  clock?: Clock,
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(
    ["taxii", ...args, "--dir", xbDir.dir, "--json"],
    {},
    {
      out: (t) => (out += t),
      err: (t) => (err += t),
    },
    clock === undefined ? {} : { clock },
  );
  return { code, out, err };
}

async function addToXa(from: number, n: number): Promise<void> {
  const objects = Array.from({ length: n }, (_, i) => indicator(from + i));
  const r = await taxii(xa.url, `/taxii2/api/collections/${collectionId("XA", "local")}/objects/`, {
    auth: `Bearer ${xa.apiToken}`,
    body: { objects },
  });
  expect(r.status).toBe(202);
}

async function namesAtXb(): Promise<string[]> {
  const list = await xb.store.objects.list({ limit: 1000, type: "indicator" });
  return list.map((o) => o.object.name as string).sort();
}

beforeAll(async () => {
  root = makeTempDir("accord-taxii-client-");
  xa = await start(createNodeDir(root, { id: "XA" }));
  // The CLI finds the running node through its config: a fixed port.
  xbDir = createNodeDir(root, { id: "XB", port: await freePort() });
  xb = await start(xbDir);
  // introduce() also has both nodes sign the regional accord (XC on paper): it is in force.
  await introduce([xa, xb]);
  const service = new TaxiiService({
    node: xa.node,
    store: xa.store,
    apiToken: xa.apiToken,
    clock: systemClock,
    random: systemRandom,
  });
  const c = await service.createCredential({ id: "xb", partner: "XB", purpose: "cyber-defence" });
  tokenFile = join(root, "xb-token");
  writeFileSync(tokenFile, `${c.token}\n`, { mode: 0o600 });
  collection = collectionId("XA", "partner:xb");
});

afterAll(async () => {
  await xb.stop();
  await xa.stop();
  removeDir(root);
});

describe("accord taxii pull", () => {
  /** `accord taxii pull` at XB of XA's objects with XB's credential, stored as XA's. */
  const pullFromXa = (base: string, ...more: string[]) =>
    run(["pull", base, "--token-file", tokenFile, "--from", "XA", ...more]);

  it("pulls page by page, stops where told, and resumes from its bookmark", async () => {
    await addToXa(100, 7);
    const first = await pullFromXa(`${xa.url}/taxii2/`, "--limit", "2", "--max-pages", "2");
    expect(first.code, first.err + first.out).toBe(0);
    const r1 = JSON.parse(first.out) as Record<string, unknown>;
    expect(r1).toMatchObject({ collection, pages: 2, objects: 4, stored: 4, complete: false });
    expect(await namesAtXb()).toHaveLength(4);
    const marks = JSON.parse(readFileSync(join(xbDir.dir, BOOKMARKS_FILE), "utf8")) as Record<
      string,
      { addedAfter: string }
    >;
    expect(Object.values(marks)[0]?.addedAfter).toBe(r1.bookmark);

    const second = await pullFromXa(`${xa.url}/taxii2/api/`, "--limit", "2");
    expect(second.code, second.err + second.out).toBe(0);
    const r2 = JSON.parse(second.out) as Record<string, unknown>;
    expect(r2.resumedFrom).toBe(r1.bookmark);
    expect(r2.complete).toBe(true);
    expect(r2.stored).toBe(3);
    // The resumed pull reaches one millisecond behind its bookmark (objects of one request can
    // share a millisecond): those are fetched again and reported as already held, never stored twice.
    expect(r2.unchanged as number).toBeLessThanOrEqual(r1.objects as number);
    expect(await namesAtXb()).toEqual(
      [100, 101, 102, 103, 104, 105, 106].map((n) => `scanner ${n}`).sort(),
    );

    await addToXa(200, 2);
    const third = await pullFromXa(`${xa.url}/taxii2/`);
    const r3 = JSON.parse(third.out) as Record<string, unknown>;
    expect(r3).toMatchObject({ stored: 2, complete: true });
    expect(await namesAtXb()).toHaveLength(9);
    // What XB holds is XA's partner view, stored as XA's under the agreement (a pull without
    // --from is refused: spec/taxii.md).
    const held = await xb.store.objects.list({ limit: 1, type: "indicator" });
    expect(held[0]?.provenance).toMatchObject({
      originator: "XA",
      agreementId: "regional-cyber-accord",
    });
  });

  it("without --from stores a plain TAXII server's objects as this node's own, and says so", async () => {
    // XA's local collection read with XA's operator token: plain STIX, no Accord provenance,
    // as any TAXII 2.1 server serves it.
    const operatorTokenFile = join(root, "xa-operator-token");
    writeFileSync(operatorTokenFile, `${xa.apiToken}\n`, { mode: 0o600 });
    await addToXa(300, 1);
    const plain = await run([
      "pull",
      `${xa.url}/taxii2/`,
      "--token-file",
      operatorTokenFile,
      "--collection",
      collectionId("XA", "local"),
    ]);
    expect(plain.code, plain.err + plain.out).toBe(0);
    expect(plain.err).toContain("without --from, what is pulled is stored as XB's own objects");
    expect(JSON.parse(plain.out)).toMatchObject({ from: null, complete: true });
    const own = (await xb.store.objects.list({ limit: 1000, type: "indicator" })).find(
      (o) => o.object.name === "scanner 300",
    );
    expect(own?.provenance).toMatchObject({ originator: "XB", receivedFrom: null });
    // With --from the note is not printed.
    await addToXa(400, 1);
    const partner = await pullFromXa(`${xa.url}/taxii2/`);
    expect(partner.code, partner.err + partner.out).toBe(0);
    expect(partner.err).not.toContain("without --from");
  });

  it("refuses bad credentials, loose secret files and unknown collections with clear errors", async () => {
    const bad = join(root, "bad-token");
    writeFileSync(bad, "xb.nope\n", { mode: 0o600 });
    const r = await run(["pull", `${xa.url}/taxii2/`, "--token-file", bad]);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.out).error.code).toBe("ERR_UNAUTHENTICATED");

    const loose = join(root, "loose-token");
    writeFileSync(loose, "xb.nope\n", { mode: 0o644 });
    const l = await run(["pull", `${xa.url}/taxii2/`, "--token-file", loose]);
    expect(JSON.parse(l.out).error.code).toBe("ERR_KEYS_INVALID");

    const u = await run([
      "pull",
      `${xa.url}/taxii2/`,
      "--token-file",
      tokenFile,
      "--collection",
      "00000000-0000-4000-8000-000000000000",
    ]);
    expect(u.code).toBe(3);
    expect(JSON.parse(u.out).error.code).toBe("ERR_NOT_FOUND");
  });

  it("issues, lists and revokes credentials from the command line, dated by the clock it is given", async () => {
    // A clock months away from today: the credential and both log entries carry its time.
    const clock = movableClock("2026-05-01T10:00:00.000Z");
    const add = await run(
      ["credential", "add", "--partner", "XC", "--purpose", "cyber-defence", "--id", "xc"],
      clock,
    );
    expect(add.code, add.err).toBe(0);
    const { token, secret } = JSON.parse(add.out) as { token: string; secret: string };
    expect(token).toBe(`xc.${secret}`);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The CLI wrote to XB's store; XB's server answers the new credential at once.
    expect((await taxii(xb.url, "/taxii2/", { auth: `Bearer ${token}` })).status).toBe(200);
    const list = await run(["credential", "list"]);
    const creds = JSON.parse(list.out).credentials as Record<string, unknown>[];
    expect(creds.map((c) => c.id)).toEqual(["xc"]);
    expect(JSON.stringify(creds)).not.toContain(secret);
    expect(JSON.stringify(creds)).not.toMatch(/secretHash/);
    expect(creds[0]?.createdAt).toBe("2026-05-01T10:00:00.000Z");
    clock.advance(60_000);
    expect((await run(["credential", "remove", "xc"], clock)).code).toBe(0);
    expect((await taxii(xb.url, "/taxii2/", { auth: `Bearer ${token}` })).status).toBe(401);
    const logged = (await xb.store.ledger.list(0, 100_000)).filter(
      (e) => e.kind === "taxii-credential" && e.data.credential === "xc",
    );
    expect(logged.map((e) => [e.data.event, e.at])).toEqual([
      ["issued", "2026-05-01T10:00:00.000Z"],
      ["revoked", "2026-05-01T10:01:00.000Z"],
    ]);
    expect(existsSync(join(xbDir.dir, BOOKMARKS_FILE))).toBe(true);
  });
});
