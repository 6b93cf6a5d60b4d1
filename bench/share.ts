/**
 * ingest: objects/s through validation and a durable SQLite store (one transaction per bundle),
 * on the real corpora in ../shared/data/corpora (those that are valid STIX) and on a synthetic
 * bundle. share: objects/s from XA to XB over loopback HTTP, from the share call to the verified
 * receipt: decide, minimize, seal, outbox, deliver, open, validate, decide, store, receipt.
 */
import { fork, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { AccordNode } from "../src/app/node.js";
import { exportNodeKeys, generateNodeKeys } from "../src/crypto/keys.js";
import { openSqliteStore } from "../src/storage/sqlite/index.js";
import { HttpPeerClient } from "../src/federation/http-peer-client.js";
import { systemClock, systemRandom, type RunningNode } from "../src/cli/compose.js";
import { createNodeDir, makeTempDir, signAgreements, start } from "../test/support/nodes.js";
import { syntheticBundle } from "./synthetic.js";
import { watchCommits, type CommitSummary } from "./sqlite-commits.js";
import type { BenchResult } from "./run.js";

const CORPORA = new URL("../../shared/data/corpora/", import.meta.url).pathname;
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

export async function ingestBench(): Promise<BenchResult[]> {
  const inputs: { name: string; bundle: unknown; n: number }[] = [];
  if (existsSync(CORPORA)) {
    for (const f of [
      "ics-attack-18.1.json",
      "opencti-geography.json",
      "capec-2.1.json",
      "stix-atlas.json",
    ]) {
      const bundle = JSON.parse(readFileSync(join(CORPORA, f), "utf8")) as { objects: unknown[] };
      inputs.push({ name: f, bundle, n: bundle.objects.length });
    }
  }
  const synthetic = syntheticBundle(20_000, 7);
  inputs.push({ name: "synthetic-20000", bundle: synthetic, n: synthetic.objects.length });

  const results: BenchResult[] = [];
  let totalObjects = 0;
  let totalMs = 0;
  const root = makeTempDir("accord-bench-");
  try {
    for (const input of inputs) {
      const store = await openSqliteStore({ path: join(root, `${input.name}.db`) });
      const node = new AccordNode({
        nodeId: "XA",
        name: "XA",
        publicUrl: () => "http://127.0.0.1:0",
        keys: generateNodeKeys(),
        store,
        clock: systemClock,
        random: systemRandom,
        peerClient: new HttpPeerClient(),
        logger: silent,
      });
      const t0 = performance.now();
      let refused: string | undefined;
      try {
        await node.ingest(input.bundle);
      } catch (e) {
        refused = (e as { code?: string }).code ?? "error";
      }
      const ms = performance.now() - t0;
      await store.close();
      if (refused !== undefined) {
        results.push({
          bench: "ingest.refused",
          value: ms,
          unit: "ms",
          corpus: input.name,
          n: input.n,
          code: refused,
          note: "the corpus has real defects and is refused whole",
        });
        continue;
      }
      totalObjects += input.n;
      totalMs += ms;
      results.push({
        bench: `ingest.${input.name}`,
        value: Math.round(input.n / (ms / 1000)),
        unit: "objects/s",
        n: input.n,
        store: "sqlite",
      });
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  results.push({
    bench: "ingest",
    value: Math.round(totalObjects / (totalMs / 1000)),
    unit: "objects/s",
    n: totalObjects,
    store: "sqlite",
    durable: "synchronous=FULL",
  });
  return results;
}

/** A forked bench/share-peer.ts: the receiving node in a process of its own. */
class PeerProcess {
  private next = 0;
  private readonly waiting = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  private readonly child: ChildProcess;

  constructor(dir: string, id: string) {
    // ACCORD_BENCH_PEER_ARGS adds node flags to the peer only (e.g. --cpu-prof).
    const extra = (process.env.ACCORD_BENCH_PEER_ARGS ?? "").split(" ").filter((a) => a !== "");
    this.child = fork(new URL("./share-peer.ts", import.meta.url).pathname, [dir, id], {
      execArgv: [...process.execArgv, ...extra],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: { id: number; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`share peer: ${m.error}`));
      else w?.resolve(m);
    });
    this.child.on("exit", (code) => {
      for (const w of this.waiting.values())
        w.reject(new Error(`share peer exited (${String(code)})`));
      this.waiting.clear();
    });
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, op, ...args });
    });
  }

  async cpuMicros(): Promise<number> {
    const u = await this.call("cpu");
    return Number(u.user) + Number(u.system);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    await this.call("stop").catch(() => undefined);
    await exited;
  }
}

/**
 * ACCORD_BENCH_PROFILE=DIR: a V8 CPU profile of each node over the timed part of each run only
 * (DIR/share-XA-RUN.cpuprofile, DIR/share-XB-RUN.cpuprofile), for `node --cpu-prof`-style analysis.
 * ACCORD_BENCH_KEEP=1: the share bench leaves both nodes' directories (databases included) in
 * place and prints where, to look at what a share wrote.
 * ACCORD_BENCH_COMMITS=1: the share bench also reports XA's COMMITs over the timed part of the
 * median run (./sqlite-commits.ts): time and CPU per commit, WAL frames, checkpoints.
 */
export async function profiled<T>(file: string | undefined, body: () => Promise<T>): Promise<T> {
  if (file === undefined) return body();
  const session = new Session();
  session.connect();
  const post = (method: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      session.post(method, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  await post("Profiler.enable");
  await post("Profiler.start");
  try {
    return await body();
  } finally {
    const { profile } = (await post("Profiler.stop")) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}

const cpuMicros = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/**
 * XA (this process) shares n objects with XB (a process of its own, bench/share-peer.ts) over
 * loopback HTTP, from the share call until every envelope's receipt is verified. Reports the wall
 * rate (median of 3 runs), the CPU each side spent per object and the rate that CPU time allows.
 */
export async function shareBench(): Promise<BenchResult[]> {
  const n = Number(process.env.ACCORD_BENCH_SHARE_N ?? 5_000);
  const root = makeTempDir("accord-bench-");
  const xaDir = createNodeDir(root, { id: "XA" });
  const xbDir = createNodeDir(root, { id: "XB" });
  const peer = new PeerProcess(xbDir.dir, "XB");
  let xa: RunningNode | undefined;
  const results: BenchResult[] = [];
  const commits = process.env.ACCORD_BENCH_COMMITS === undefined ? undefined : watchCommits();
  try {
    const xb = (await peer.call("start")) as { url: string; fingerprint: string };
    xa = await start(xaDir);
    await xa.node.addPeer(xb.url, xb.fingerprint);
    await peer.call("peer", { url: xa.url, fingerprint: xa.node.fingerprint() });
    // Parties without a node here (XC) sign on paper with keys both processes share.
    const paper = generateNodeKeys();
    await signAgreements([xa], { elsewhere: ["XB"], paperKeys: new Map([["XC", paper]]) });
    await peer.call("sign", { elsewhere: ["XA"], paperKeys: { XC: exportNodeKeys(paper) } });

    const runs: { rate: number; xaUs: number; xbUs: number; commits?: CommitSummary }[] = [];
    for (let run = 0; run < 3; run++) {
      const bundle = syntheticBundle(n, 100 + run);
      await xa.node.ingest(bundle);
      const ids = bundle.objects.map((o) => o.id as string);
      const profile = process.env.ACCORD_BENCH_PROFILE;
      if (profile !== undefined)
        await peer.call("profile", { file: join(profile, `share-XB-${String(run)}.cpuprofile`) });
      const xb0 = await peer.cpuMicros();
      commits?.take();
      const xa0 = cpuMicros();
      const t0 = performance.now();
      const node = xa;
      const [outcome] = await profiled(
        profile === undefined ? undefined : join(profile, `share-XA-${String(run)}.cpuprofile`),
        async () => {
          // As the API's share: each committed chunk is delivered while the next is prepared.
          const out = await node.node.share(
            { recipients: ["XB"], purpose: "cyber-defence", objectIds: ids },
            { deliver: true },
          );
          await node.deliverNow();
          return out;
        },
      );
      const ms = performance.now() - t0;
      const xaUs = cpuMicros() - xa0;
      const xaCommits = commits?.take();
      const xbUs = (await peer.cpuMicros()) - xb0;
      if (profile !== undefined) await peer.call("profileEnd");
      const pending = await xa.store.outbox.list({ status: "pending", limit: 10 });
      if (pending.length > 0 || outcome?.sent !== n)
        throw new Error(
          `share bench: ${outcome?.sent ?? 0} of ${n} sent, ${pending.length} pending`,
        );
      runs.push({
        rate: n / (ms / 1000),
        xaUs,
        xbUs,
        ...(xaCommits === undefined ? {} : { commits: xaCommits }),
      });
    }
    runs.sort((a, b) => a.rate - b.rate);
    const mid = runs[1] ?? { rate: 0, xaUs: 0, xbUs: 0 };
    results.push({
      bench: "share",
      value: Math.round(mid.rate),
      unit: "objects/s",
      n,
      runs: runs.map((r) => Math.round(r.rate)),
      xaCpuUsPerObject: Math.round(mid.xaUs / n),
      xbCpuUsPerObject: Math.round(mid.xbUs / n),
      // The rate if each node had a core of its own and waited for nothing: n / the busier side's CPU.
      cpuBoundRate: Math.round(n / (Math.max(mid.xaUs, mid.xbUs) / 1e6)),
      ...(mid.commits === undefined ? {} : { xaCommits: mid.commits }),
      loadavg: loadavg()
        .map((l) => l.toFixed(2))
        .join(" "),
      path: "XA->XB loopback HTTP, XB in its own process, SQLite both sides, to verified receipt",
    });
  } finally {
    await xa?.stop();
    await peer.stop();
    if (process.env.ACCORD_BENCH_KEEP === undefined) rmSync(root, { recursive: true, force: true });
    else console.error(`kept ${root}`);
  }
  return results;
}
