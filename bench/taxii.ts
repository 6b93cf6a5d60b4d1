/**
 * taxii.post, taxii.get, taxii.get.partner and sync.1e6: the TAXII 2.1 server of a real node
 * (SQLite, synchronous=FULL) over loopback HTTP, driven from separate client processes, as the
 * medallion anchors in issue 6 were measured (envelopes of 100 indicators; page size 100).
 * Every line carries wall time, the CPU time of the server and of the client, and the load
 * average at the end, because these machines are shared.
 *
 * - taxii.post: objects/s for POST .../objects/ to the operator's local collection (validate,
 *   store, status, log, each answered after its commit), envelopes of 100 and of 1,000, one at a
 *   time and several at once (group commit writes concurrent requests in one transaction).
 * - taxii.get: objects/s for paginated GET .../objects/?limit=100 on the local collection of a
 *   node holding 10^3 .. 10^6 objects (ACCORD_BENCH_TAXII_MAX lowers the top), 100 pages read
 *   from the start and 100 from deep in the collection (the last 10,000 objects); a collection
 *   shorter than 100 pages is read again from the same start until 100 pages are read.
 *   WARM-UP: each client first reads the same 100 pages untimed. A TAXII server is a
 *   long-running process whose read path is compiled by the JIT after its first few hundred
 *   requests; timing a fresh server's first 20 pages (as the 10^3 line did) measured V8's
 *   compiler, not the server (31,000 objects/s there against 51,000 at 10^4 and 10^5). The warm-up
 *   pages also bring the SQLite pages they touch into the page cache, as a server in use has
 *   them; pages deep in a 10^6 collection are not otherwise cached.
 * - taxii.get.partner: the same pages from a partner collection, where every object passes
 *   releaseFor (decide, strip, minimize, provenance) for that partner.
 * - sync.1e6 (`npm run bench -- sync`): seconds for an initial sync of 10^6 objects
 *   (ACCORD_BENCH_SYNC_N for another size) from XA's local collection into XB with the code of
 *   `accord taxii pull` (pages of 1,000, validated, ingested through XB's API, durable), with XA
 *   in this process and XB and the pull each in their own process.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { TaxiiService, collectionId } from "../src/app/taxii.js";
import { systemClock, systemRandom, type RunningNode } from "../src/cli/compose.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";
import {
  createNodeDir,
  makeTempDir,
  removeDir,
  signAgreements,
  start,
} from "../test/support/nodes.js";
import { syntheticBundle } from "./synthetic.js";
import { profiled } from "./share.js";
import type { BenchResult } from "./run.js";

/**
 * ACCORD_BENCH_PROFILE=DIR: V8 CPU profiles of the timed parts: the server of each taxii.post and
 * taxii.get run (DIR/taxii-*.cpuprofile, this process), and for sync the XB node and the pull
 * process (`node --cpu-prof`, written into DIR when they exit) and XA's server.
 */
const PROFILE = process.env.ACCORD_BENCH_PROFILE;
const profileFile = (name: string): string | undefined =>
  PROFILE === undefined ? undefined : join(PROFILE, `${name}.cpuprofile`);
const cpuProf = (): string[] =>
  PROFILE === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", PROFILE];

const GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const PROC = new URL("./taxii-proc.ts", import.meta.url).pathname;

/**
 * The client process: plain JavaScript run by a second node process; prints one JSON line. It
 * speaks node:http with a keep-alive agent (one socket per concurrent request): `fetch` (undici)
 * cost this client 1.5 ms of CPU per 50 KB page here against 0.7 ms for node:http, enough to make
 * the client, not the server, the bottleneck of taxii.get. Every response is still read whole and
 * parsed, as a consumer would.
 */
const CLIENT = `
import http from "node:http";
const [mode, base, auth, arg1, arg2, arg3] = process.argv.slice(2);
const TAXII = "application/taxii+json;version=2.1";
const agent = new http.Agent({ keepAlive: true, maxSockets: mode === "post" ? Number(arg3) : 1 });
function request(method, url, body) {
  return new Promise((resolve, reject) => {
    const headers = { accept: TAXII, authorization: auth };
    if (body !== undefined) Object.assign(headers, { "content-type": TAXII, "content-length": Buffer.byteLength(body) });
    const req = http.request(url, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        try { resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }); }
        catch (e) { reject(e); }
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
function indicator(n) {
  const created = "2026-03-01T00:00:00.000Z";
  return { type: "indicator", spec_version: "2.1", id: "indicator--" + crypto.randomUUID(),
    created, modified: created, name: "scanner " + n, indicator_types: ["malicious-activity"],
    pattern: "[ipv4-addr:value = '203.0.113." + (n % 250) + "']", pattern_type: "stix",
    valid_from: created, object_marking_refs: ["${GREEN}"] };
}
async function postOne(body, size) {
  const r = await request("POST", base + "objects/", body);
  if (r.status !== 202 || r.body.success_count !== size) throw new Error("POST failed: " + r.status + " " + JSON.stringify(r.body).slice(0, 300));
}
async function post(envelopes, size, concurrency) {
  const bodies = [];
  for (let e = 0; e < envelopes; e++)
    bodies.push(JSON.stringify({ objects: Array.from({ length: size }, (_, i) => indicator(e * size + i)) }));
  await postOne(JSON.stringify({ objects: [indicator(0)] }), 1); // warm-up
  process.stdout.write("timed\\n");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let i = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (i < bodies.length) await postOne(bodies[i++], size);
  }));
  const c = process.cpuUsage(c0);
  return { objects: envelopes * size, ms: performance.now() - t0, cpu_ms: (c.user + c.system) / 1000 };
}
async function get(pages, start) {
  const first = start === "" ? undefined : start;
  // Read count pages from first, starting over at first when the collection ends (a
  // collection of 10^3 objects has 10 pages of 100).
  async function read(count) {
    let next = first;
    let objects = 0;
    for (let n = 0; n < count; n++) {
      const r = await request("GET", base + "objects/?limit=100" + (next ? "&next=" + next : ""));
      const b = r.body;
      if (r.status !== 200) throw new Error("GET failed: " + r.status + " " + JSON.stringify(b).slice(0, 300));
      objects += (b.objects || []).length;
      next = b.more ? b.next : first;
    }
    return objects;
  }
  await read(pages); // warm-up, not timed: see WARM-UP in bench/taxii.ts
  process.stdout.write("timed\\n");
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const objects = await read(pages);
  const c = process.cpuUsage(c0);
  return { objects, pages, ms: performance.now() - t0, cpu_ms: (c.user + c.system) / 1000 };
}
const result = mode === "post" ? await post(Number(arg1), Number(arg2), Number(arg3)) : await get(Number(arg1), arg2 || "");
agent.destroy();
process.stdout.write(JSON.stringify(result) + "\\n");
`;

interface ClientRun {
  objects: number;
  ms: number;
  cpu_ms: number;
  pages?: number;
}

/**
 * The CPU time of this process's main thread in ms (Linux: /proc, in ticks of 10 ms), or
 * undefined elsewhere. With the SQLite writer thread, the main thread's share is the bound on
 * the rate: the writer thread runs on the other core.
 */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${String(process.pid)}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime (USER_HZ 100)
  } catch {
    return undefined;
  }
}

/**
 * Run the client process; `server_cpu_ms` is this process's CPU time (the server's: all its
 * threads) from the client's "timed" line, printed after its warm-up, to its result;
 * `server_main_cpu_ms` its main thread's.
 */
async function client(
  script: string,
  args: string[],
): Promise<ClientRun & { server_cpu_ms: number; server_main_cpu_ms?: number }> {
  let c0 = process.cpuUsage();
  let m0 = mainThreadCpuMs();
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  let result: ClientRun | undefined;
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
    if (line === "timed") {
      c0 = process.cpuUsage();
      m0 = mainThreadCpuMs();
    } else result = JSON.parse(line) as ClientRun;
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  const c = process.cpuUsage(c0);
  const m1 = mainThreadCpuMs();
  if (code !== 0 || result === undefined)
    throw new Error(`the client process failed (${String(code)})\n${stderr}`);
  return {
    ...result,
    server_cpu_ms: Math.round((c.user + c.system) / 1000),
    ...(m0 === undefined || m1 === undefined ? {} : { server_main_cpu_ms: m1 - m0 }),
  };
}

const rate = (r: { objects: number; ms: number }) => Math.round(r.objects / (r.ms / 1000));
const load = () => Number((loadavg()[0] ?? 0).toFixed(2));

/** Fill `node` up to `size` objects with synthetic STIX (not timed), 10,000 per ingest. */
async function fill(node: RunningNode, size: number, seed: { n: number }): Promise<number> {
  let held = await node.store.objects.count();
  while (held < size) {
    const batch = Math.min(10_000, size - held);
    const r = await node.node.ingest(syntheticBundle(batch, seed.n++));
    held += r.stored;
    if (r.stored === 0) throw new Error("the synthetic generator repeated itself");
  }
  return held;
}

export async function run(): Promise<BenchResult[]> {
  const max = Number(process.env.ACCORD_BENCH_TAXII_MAX ?? 1_000_000);
  const root = makeTempDir("accord-bench-taxii-");
  const script = join(root, "client.mjs");
  writeFileSync(script, CLIENT);
  const results: BenchResult[] = [];
  try {
    results.push(...(await postBench(root, script)));
    results.push(...(await getBench(root, script, max)));
  } finally {
    removeDir(root);
  }
  return results;
}

async function postBench(root: string, script: string): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // XP is a party to no agreement: the operator's POST to `local` is an ingest, which needs none
  // (the example agreements name XA, XB and XC, and a node refuses one it is not a party to).
  const node = await start(createNodeDir(root, { id: "XP", agreements: [] }));
  try {
    const base = `${node.url}/taxii2/api/collections/${collectionId("XP", "local")}/`;
    const op = `Bearer ${node.apiToken}`;
    for (const [envelopes, size, concurrency] of [
      [10, 100, 1],
      [100, 100, 10],
      [10, 1000, 1],
      [40, 1000, 8],
    ] as const) {
      const r = await profiled(
        profileFile(`taxii-post-${String(envelopes)}x${String(size)}-c${String(concurrency)}`),
        () =>
          client(script, ["post", base, op, String(envelopes), String(size), String(concurrency)]),
      );
      results.push({
        bench: "taxii.post",
        value: rate(r),
        unit: "objects/s",
        envelopes,
        envelope_size: size,
        concurrency,
        wall_ms: Math.round(r.ms),
        server_cpu_ms: r.server_cpu_ms,
        ...(r.server_main_cpu_ms === undefined ? {} : { server_main_cpu_ms: r.server_main_cpu_ms }),
        // What the server would do with a core to itself: the machines here are shared.
        objects_per_server_cpu_s: Math.round((envelopes * size * 1000) / r.server_cpu_ms),
        client_cpu_ms: Math.round(r.cpu_ms),
        store: "sqlite (synchronous=FULL)",
        client: "node:http keep-alive",
        load: load(),
        anchor_medallion: 4000,
        target: 40000,
      });
    }
  } finally {
    await node.stop();
  }
  return results;
}

async function getBench(root: string, script: string, max: number): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const node = await start(createNodeDir(root, { id: "XA" }));
  try {
    // The regional accord in force (XB and XC sign on paper), so the partner view has contents.
    await signAgreements([node]);
    const service = new TaxiiService({
      node: node.node,
      store: node.store,
      apiToken: node.apiToken,
      clock: systemClock,
      random: systemRandom,
    });
    const cred = await service.createCredential({
      id: "xb",
      partner: "XB",
      purpose: "cyber-defence",
    });
    const op = `Bearer ${node.apiToken}`;
    const localBase = `${node.url}/taxii2/api/collections/${collectionId("XA", "local")}/`;
    const partnerBase = `${node.url}/taxii2/api/collections/${collectionId("XA", "partner:xb")}/`;
    const seed = { n: 1 };
    for (const size of [1_000, 10_000, 100_000, 1_000_000]) {
      if (size > max) break;
      const held = await fill(node, size, seed);
      // The `next` cursor is the last sequence number read: start 10,000 objects before the end.
      const deep = String(Math.max(0, held - 10_000));
      for (const [name, base, auth] of [
        ["taxii.get", localBase, op],
        ["taxii.get.partner", partnerBase, `Bearer ${cred.token}`],
      ] as const) {
        const prof = profileFile(`${name}-${String(held)}`);
        const [fromStart, fromDeep] = await profiled(prof, async () => [
          await client(script, ["get", base, auth, "100", ""]),
          await client(script, ["get", base, auth, "100", deep]),
        ]);
        const objects = fromStart.objects + fromDeep.objects;
        results.push({
          bench: name,
          value: Math.min(rate(fromStart), rate(fromDeep)),
          unit: "objects/s",
          collection: held,
          page_size: 100,
          from_start: rate(fromStart),
          from_deep: rate(fromDeep),
          pages: (fromStart.pages ?? 0) + (fromDeep.pages ?? 0),
          wall_ms: Math.round(fromStart.ms + fromDeep.ms),
          server_cpu_us_per_object: Math.round(
            ((fromStart.server_cpu_ms + fromDeep.server_cpu_ms) * 1000) / objects,
          ),
          client_cpu_us_per_object: Math.round(
            ((fromStart.cpu_ms + fromDeep.cpu_ms) * 1000) / objects,
          ),
          client: "node:http keep-alive",
          load: load(),
          anchor_medallion: 111,
          target: 50000,
        });
      }
    }
  } finally {
    await node.stop();
  }
  return results;
}

/** Start `node DIR` in a child process; resolves with its URL and token once it listens. */
function spawnNode(dir: string): Promise<{ child: ChildProcess; url: string; token: string }> {
  const child = spawn(process.execPath, [...cpuProf(), "--import", "tsx", PROC, "node", dir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      reject(new Error(`the node process exited (${String(code)})`));
    });
    lines.once("line", (line) => {
      const { url, token } = JSON.parse(line) as { url: string; token: string };
      resolve({ child, url, token });
    });
  });
}

/** SIGTERM a node process and wait for the CPU time it reports on the way out. */
function stopNode(child: ChildProcess): Promise<number> {
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  return new Promise((resolve) => {
    let cpu = 0;
    lines.on("line", (line) => {
      cpu = (JSON.parse(line) as { cpu_ms?: number }).cpu_ms ?? cpu;
    });
    child.removeAllListeners("exit");
    child.once("exit", () => {
      resolve(cpu);
    });
    child.kill("SIGTERM");
  });
}

export async function syncRun(): Promise<BenchResult[]> {
  const n = Number(process.env.ACCORD_BENCH_SYNC_N ?? 1_000_000);
  const root = makeTempDir("accord-bench-sync-");
  const xa = await start(createNodeDir(root, { id: "XA" }));
  let xb: { child: ChildProcess; url: string; token: string } | undefined;
  try {
    const filled0 = performance.now();
    const held = await fill(xa, n, { n: 1 });
    const fillMs = performance.now() - filled0;
    const xbDir = createNodeDir(root, { id: "XB" });
    xb = await spawnNode(xbDir.dir);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const report = await profiled(
      profileFile("sync-XA"),
      () =>
        new Promise<{ objects: number; stored: number; cpu_ms: number }>((resolve, reject) => {
          execFile(
            process.execPath,
            [
              ...cpuProf(),
              "--import",
              "tsx",
              PROC,
              "pull",
              `${xa.url}/taxii2/`,
              xa.apiToken,
              collectionId("XA", "local"),
              xb?.url ?? "",
              xb?.token ?? "",
              join(root, "bookmarks.json"),
            ],
            { maxBuffer: 1 << 20 },
            (err, stdout, stderr) => {
              if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
              else
                resolve(JSON.parse(stdout) as { objects: number; stored: number; cpu_ms: number });
            },
          );
        }),
    );
    const wallMs = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const xbCpu = await stopNode(xb.child);
    xb = undefined;
    // Durable: XB's database, opened afresh after its process stopped, holds every object.
    const store = await openSqliteStore({ path: join(xbDir.dir, "accord.db") });
    const count = await store.objects.count();
    await store.close();
    if (report.stored !== held || count !== held)
      throw new Error(`sync stored ${report.stored}, XB holds ${count}, expected ${held}`);
    return [
      {
        bench: n === 1_000_000 ? "sync.1e6" : `sync.${String(n)}`,
        value: Number((wallMs / 1000).toFixed(1)),
        unit: "s",
        objects: held,
        objects_per_s: Math.round(held / (wallMs / 1000)),
        xa_server_cpu_ms: Math.round((c.user + c.system) / 1000),
        xb_node_cpu_ms: Math.round(xbCpu),
        pull_cpu_ms: Math.round(report.cpu_ms),
        fill_s: Number((fillMs / 1000).toFixed(1)),
        page_size: 1000,
        store: "sqlite (synchronous=FULL) on both nodes",
        load: load(),
        target_s: 120,
      },
    ];
  } finally {
    if (xb !== undefined) await stopNode(xb.child);
    await xa.stop();
    removeDir(root);
  }
}
