/**
 * taxii.post and taxii.get: the TAXII 2.1 server of a real node (SQLite, durable) over loopback
 * HTTP, driven from a separate client process, as the medallion anchors in issue 6 were measured
 * (10 envelopes x 100 indicators; paginated GET at page size 100).
 *
 * - taxii.post: objects/s for POST .../objects/ to the operator's local collection (validate,
 *   store, status, log), envelopes of 100 indicators, one request at a time.
 * - taxii.get: objects/s for paginated GET .../objects/?limit=100 on the local collection, at
 *   collection sizes 10^3 .. 10^6 (ACCORD_BENCH_TAXII_MAX lowers the top), 100 pages read from the
 *   start and 100 from deep in the collection (the `next` cursor of the last 10,000 objects).
 * - taxii.get.partner: the same pages from a partner collection, where every object passes
 *   releaseFor (decide, strip, minimize, provenance) for that partner.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { TaxiiService, collectionId } from "../src/app/taxii.js";
import { systemClock, systemRandom } from "../src/cli/compose.js";
import {
  createNodeDir,
  makeTempDir,
  removeDir,
  signAgreements,
  start,
} from "../test/support/nodes.js";
import type { BenchResult } from "./run.js";

const GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";

function indicator(n: number): Record<string, unknown> {
  const created = "2026-03-01T00:00:00.000Z";
  return {
    type: "indicator",
    spec_version: "2.1",
    id: `indicator--${randomUUID()}`,
    created,
    modified: created,
    name: `scanner ${n}`,
    indicator_types: ["malicious-activity"],
    pattern: `[ipv4-addr:value = '198.51.${(n >> 8) & 255}.${n & 255}']`,
    pattern_type: "stix",
    valid_from: created,
    object_marking_refs: [GREEN],
  };
}

/** The client process: plain JavaScript run by a second node process; prints one JSON line. */
const CLIENT = `
const [mode, base, auth, arg1, arg2] = process.argv.slice(2);
const TAXII = "application/taxii+json;version=2.1";
const headers = { accept: TAXII, authorization: auth };
function indicator(n) {
  const created = "2026-03-01T00:00:00.000Z";
  return { type: "indicator", spec_version: "2.1", id: "indicator--" + crypto.randomUUID(),
    created, modified: created, name: "scanner " + n, indicator_types: ["malicious-activity"],
    pattern: "[ipv4-addr:value = '203.0.113." + (n % 250) + "']", pattern_type: "stix",
    valid_from: created, object_marking_refs: ["${GREEN}"] };
}
async function post(envelopes, size) {
  const bodies = [];
  for (let e = 0; e < envelopes; e++)
    bodies.push(JSON.stringify({ objects: Array.from({ length: size }, (_, i) => indicator(e * size + i)) }));
  // one warm-up request
  await fetch(base + "objects/", { method: "POST", headers: { ...headers, "content-type": TAXII }, body: JSON.stringify({ objects: [indicator(0)] }) }).then((r) => r.text());
  const t0 = performance.now();
  for (const body of bodies) {
    const r = await fetch(base + "objects/", { method: "POST", headers: { ...headers, "content-type": TAXII }, body });
    const s = await r.json();
    if (r.status !== 202 || s.success_count !== size) throw new Error("POST failed: " + r.status + " " + JSON.stringify(s).slice(0, 300));
  }
  return { objects: envelopes * size, ms: performance.now() - t0 };
}
async function get(pages, start) {
  let next = start === "" ? undefined : start;
  let objects = 0;
  let n = 0;
  await fetch(base + "objects/?limit=100", { headers }).then((r) => r.text());
  const t0 = performance.now();
  while (n < pages) {
    const r = await fetch(base + "objects/?limit=100" + (next ? "&next=" + next : ""), { headers });
    const b = await r.json();
    if (r.status !== 200) throw new Error("GET failed: " + r.status + " " + JSON.stringify(b).slice(0, 300));
    objects += (b.objects || []).length;
    n++;
    if (!b.more) break;
    next = b.next;
  }
  return { objects, pages: n, ms: performance.now() - t0 };
}
const result = mode === "post" ? await post(Number(arg1), Number(arg2)) : await get(Number(arg1), arg2 || "");
process.stdout.write(JSON.stringify(result) + "\\n");
`;

function client(
  script: string,
  args: string[],
): Promise<{ objects: number; ms: number; pages?: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`${err.message}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as { objects: number; ms: number; pages?: number });
    });
  });
}

export async function run(): Promise<BenchResult[]> {
  const max = Number(process.env.ACCORD_BENCH_TAXII_MAX ?? 1_000_000);
  const root = makeTempDir("accord-bench-taxii-");
  const script = join(root, "client.mjs");
  writeFileSync(script, CLIENT);
  const results: BenchResult[] = [];
  const xa = await start(createNodeDir(root, { id: "XA" }));
  try {
    // The regional accord in force (XB and XC sign on paper), so the partner view has contents.
    await signAgreements([xa]);
    const service = new TaxiiService({
      node: xa.node,
      store: xa.store,
      apiToken: xa.apiToken,
      clock: systemClock,
      random: systemRandom,
    });
    const cred = await service.createCredential({
      id: "xb",
      partner: "XB",
      purpose: "cyber-defence",
    });
    const op = `Bearer ${xa.apiToken}`;
    const localBase = `${xa.url}/taxii2/api/collections/${collectionId("XA", "local")}/`;
    const partnerBase = `${xa.url}/taxii2/api/collections/${collectionId("XA", "partner:xb")}/`;

    // POST, as the anchor: 10 envelopes of 100 indicators; then 10 of 1,000.
    for (const [envelopes, size] of [
      [10, 100],
      [10, 1000],
    ] as const) {
      const r = await client(script, ["post", localBase, op, String(envelopes), String(size)]);
      results.push({
        bench: "taxii.post",
        value: Math.round(r.objects / (r.ms / 1000)),
        unit: "objects/s",
        envelopes,
        envelope_size: size,
        store: "sqlite (synchronous=FULL)",
        anchor_medallion: 4000,
        target: 40000,
      });
    }

    // GET at growing collection sizes; the collection is filled through ingest (not timed).
    let held = await xa.store.objects.count();
    let n = held;
    for (const size of [1_000, 10_000, 100_000, 1_000_000]) {
      if (size > max) break;
      while (held < size) {
        const batch = Math.min(10_000, size - held);
        await xa.node.ingest({
          type: "bundle",
          id: `bundle--${randomUUID()}`,
          objects: Array.from({ length: batch }, () => indicator(n++)),
        });
        held += batch;
      }
      // The `next` cursor is the last sequence number read: start 10,000 objects before the end.
      const deep = String(Math.max(0, held - 10_000));
      for (const [name, base, auth] of [
        ["taxii.get", localBase, op],
        ["taxii.get.partner", partnerBase, `Bearer ${cred.token}`],
      ] as const) {
        const fromStart = await client(script, ["get", base, auth, "100", ""]);
        const fromDeep = await client(script, ["get", base, auth, "100", deep]);
        const rate = (r: { objects: number; ms: number }) => Math.round(r.objects / (r.ms / 1000));
        results.push({
          bench: name,
          value: Math.min(rate(fromStart), rate(fromDeep)),
          unit: "objects/s",
          collection: held,
          page_size: 100,
          from_start: rate(fromStart),
          from_deep: rate(fromDeep),
          pages: (fromStart.pages ?? 0) + (fromDeep.pages ?? 0),
          anchor_medallion: 111,
          target: 50000,
        });
      }
    }
  } finally {
    await xa.stop();
    removeDir(root);
  }
  return results;
}
