/**
 * Real nodes for integration tests: temp directories, real keys, real SQLite or PostgreSQL, real
 * HTTP on loopback. The benchmarks (bench/) import this file outside vitest: it must not import
 * vitest (`expect` there fails with "Vitest failed to access its internal state").
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import pg from "pg";
import { loadConfig, type ConfigFile } from "../../src/cli/config.js";
import { createNodeSecrets } from "../../src/cli/secrets.js";
import { startNode, type RunningNode, type StartOptions } from "../../src/cli/compose.js";
import { generateNodeKeys, type NodeKeys } from "../../src/crypto/keys.js";
import { signAgreement } from "../../src/core/agreement/lifecycle.js";
import type { Clock } from "../../src/app/ports.js";

export const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;
export const PG_URL = process.env.ACCORD_TEST_PG_URL;

/** The demo bundle (examples/demo/ransomware-intrusion.json), parsed afresh on each call. */
export function demoBundle(): { objects: Record<string, unknown>[] } {
  const text = readFileSync(join(EXAMPLES, "demo", "ransomware-intrusion.json"), "utf8");
  return JSON.parse(text) as { objects: Record<string, unknown>[] };
}

export interface NodeSpec {
  readonly id: string;
  readonly agreements?: readonly string[];
  readonly port?: number;
  /** Use PostgreSQL (a fresh schema) instead of SQLite. */
  readonly postgres?: boolean;
  /** accord.yaml `storage.writer_thread` (SQLite only; spec/storage.md "Writer thread"). */
  readonly writerThread?: boolean;
  /** accord.yaml `officers` (spec/match.md "Decision rights"). */
  readonly officers?: readonly { name: string; roles: string[]; token_sha256: string }[];
}

export interface TestNodeDir {
  readonly id: string;
  readonly dir: string;
  readonly schema?: string;
}

/** A clock the test moves forward: from `start` when given, else real time plus what was added. */
export function movableClock(start?: string): Clock & { advance(ms: number): void } {
  const base = start === undefined ? undefined : Date.parse(start);
  let offset = 0;
  return {
    now: () => new Date((base ?? Date.now()) + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

export function makeTempDir(prefix = "accord-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Create a node directory (config, keys, agreements) without starting it. */
export function createNodeDir(root: string, spec: NodeSpec): TestNodeDir {
  const dir = join(root, spec.id);
  mkdirSync(join(dir, "agreements"), { recursive: true });
  const schema =
    spec.postgres === true
      ? `t_${spec.id.toLowerCase()}_${Math.random().toString(36).slice(2, 10)}`
      : undefined;
  if (spec.postgres === true && PG_URL === undefined)
    throw new Error("ACCORD_TEST_PG_URL is not set");
  const config: ConfigFile = {
    node: { id: spec.id },
    server: { host: "127.0.0.1", port: spec.port ?? 0 },
    storage:
      schema === undefined
        ? {
            driver: "sqlite",
            path: "accord.db",
            ...(spec.writerThread === undefined ? {} : { writer_thread: spec.writerThread }),
          }
        : { driver: "postgres", url: PG_URL ?? "", schema },
    delivery: { interval_ms: 60_000 },
    log: { level: "silent" },
    ...(spec.officers === undefined ? {} : { officers: [...spec.officers] }),
  };
  writeFileSync(join(dir, "accord.yaml"), stringify(config));
  createNodeSecrets(join(dir, "keys", "node-keys.json"), join(dir, "keys", "api-token"));
  for (const a of spec.agreements ?? ["regional-cyber-accord.yaml"])
    copyFileSync(join(EXAMPLES, "agreements", a), join(dir, "agreements", a));
  return schema === undefined ? { id: spec.id, dir } : { id: spec.id, dir, schema };
}

export async function start(nodeDir: TestNodeDir, opts: StartOptions = {}): Promise<RunningNode> {
  return startNode(loadConfig(nodeDir.dir, {}), { deliveryLoop: false, ...opts });
}

/** Make every node a partner of every other, checking fingerprints. */
export async function introduce(
  nodes: readonly RunningNode[],
  opts: { readonly sign?: boolean } = {},
): Promise<void> {
  for (const n of nodes)
    for (const o of nodes) if (o !== n) await n.node.addPeer(o.url, o.node.fingerprint());
  if (opts.sign !== false) await signAgreements(nodes);
}

/** A node for startNodes(): its directory, and the options it is started with. */
export interface StartSpec<Id extends string> extends NodeSpec {
  readonly id: Id;
  readonly options?: StartOptions;
}

/** Nodes started together by startNodes(), and what it takes to stop them. */
export interface TestNodes<Id extends string> {
  readonly root: string;
  readonly dirs: Readonly<Record<Id, TestNodeDir>>;
  /** The nodes as first started (start() returns the node started again). */
  readonly nodes: Readonly<Record<Id, RunningNode>>;
  /** Start node `id` again (after a test stopped it), with its spec's options unless given others. */
  start(id: Id, opts?: StartOptions): Promise<RunningNode>;
  /** Stop every node still running, in the specs' order, drop their schemas, remove the directory. */
  stop(): Promise<void>;
}

/**
 * Create and start the nodes of `specs` (in that order) in one temporary directory, make each
 * group of `peer` (all of them by default) partners of each other with introduce(), which also
 * signs their agreements unless `sign` is false.
 */
export async function startNodes<const Id extends string>(
  specs: readonly StartSpec<Id>[],
  opts: {
    readonly prefix?: string;
    readonly peer?: readonly (readonly Id[])[];
    readonly sign?: boolean;
  } = {},
): Promise<TestNodes<Id>> {
  const root = makeTempDir(opts.prefix);
  const dirs = {} as Record<Id, TestNodeDir>;
  const nodes = {} as Record<Id, RunningNode>;
  const running = new Map<Id, RunningNode>();
  const track = (id: Id, n: RunningNode): RunningNode => {
    const stop = n.stop.bind(n);
    n.stop = async () => {
      if (running.get(id) === n) running.delete(id);
      await stop();
    };
    running.set(id, n);
    return n;
  };
  const startOne = async (id: Id, options?: StartOptions) =>
    track(id, await start(dirs[id], options ?? specs.find((s) => s.id === id)?.options));
  for (const spec of specs) dirs[spec.id] = createNodeDir(root, spec);
  for (const spec of specs) nodes[spec.id] = await startOne(spec.id);
  for (const group of opts.peer ?? [specs.map((s) => s.id)])
    await introduce(
      group.map((id) => nodes[id]),
      { sign: opts.sign !== false },
    );
  return {
    root,
    dirs,
    nodes,
    start: startOne,
    async stop() {
      for (const spec of specs) await running.get(spec.id)?.stop();
      await dropSchemas(Object.values(dirs));
      removeDir(root);
    },
  };
}

/** Keys of parties that sign on paper in tests (no node of theirs runs): one per id per test file. */
const paperKeys = new Map<string, NodeKeys>();

/**
 * Put every agreement version the nodes hold in force, as the parties would: each node signs
 * through its API (POST /api/v1/agreements/:id/sign), which exchanges the signatures with the
 * other parties over real HTTP. A party with no node among `nodes` signs "on paper" (unless
 * `paper` is false): a real Ed25519 key generated for it here, made known to each running node
 * as a partner at an unreachable address, and its signature stored there directly.
 */
export async function signAgreements(
  nodes: readonly RunningNode[],
  opts: {
    readonly paper?: boolean;
    /** Parties whose nodes run elsewhere (another process): they sign there, not on paper. */
    readonly elsewhere?: readonly string[];
    /** Paper keys to use (shared with another process), instead of this module's own. */
    readonly paperKeys?: Map<string, NodeKeys>;
  } = {},
): Promise<void> {
  const running = new Set([...nodes.map((n) => n.node.id), ...(opts.elsewhere ?? [])]);
  const keysOnPaper = opts.paperKeys ?? paperKeys;
  if (opts.paper !== false) {
    for (const n of nodes) {
      for (const a of n.node.agreementBook.versions())
        for (const p of a.doc.parties) {
          if (running.has(p.node)) continue;
          let keys = keysOnPaper.get(p.node);
          if (keys === undefined) keysOnPaper.set(p.node, (keys = generateNodeKeys()));
          if ((await n.store.peers.get(p.node)) === undefined)
            await n.store.peers.upsert({
              nodeId: p.node,
              url: "http://127.0.0.1:9/",
              signingKey: { ...keys.signing.publicJwk },
              encryptionKey: { ...keys.encryption.publicJwk },
              addedAt: new Date().toISOString(),
            });
          const sig = await signAgreement(a, p.node, keys.signing.privateKey);
          await n.store.agreementState.putSignature({
            ...sig,
            receivedAt: new Date().toISOString(),
          });
        }
      await n.node.agreementBook.load();
    }
  }
  for (const n of nodes)
    for (const a of n.node.agreementBook.versions()) {
      const r = await api(n, "POST", `/api/v1/agreements/${a.id}/sign`, { version: a.version });
      if (r.status !== 200)
        throw new Error(
          `${n.node.id} could not sign ${a.id} v${a.version}: ${JSON.stringify(r.body)}`,
        );
    }
}

/**
 * Add "onward-pilot" at every node through its API: the example agreement `example` with onward
 * hops allowed (two at most, each still needing the originator's consent), and have each sign it.
 */
export async function addOnwardPilot(
  nodes: readonly RunningNode[],
  example: string,
): Promise<void> {
  const onward = readFileSync(join(EXAMPLES, "agreements", `${example}.yaml`), "utf8")
    .replace(`agreement: ${example}`, "agreement: onward-pilot")
    .replace("allowed: false", "allowed: true\n  max_hops: 2");
  for (const n of nodes) {
    const added = await api(n, "POST", "/api/v1/agreements", onward, {
      "content-type": "application/yaml",
    });
    if (added.status !== 201)
      throw new Error(`${n.node.id} could not add onward-pilot: ${JSON.stringify(added.body)}`);
  }
  for (const n of nodes) {
    const signed = await api(n, "POST", "/api/v1/agreements/onward-pilot/sign", {});
    if (signed.status !== 200)
      throw new Error(`${n.node.id} could not sign onward-pilot: ${JSON.stringify(signed.body)}`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      s.close(() => {
        resolve(port);
      });
    });
  });
}

export async function dropSchemas(dirs: readonly TestNodeDir[]): Promise<void> {
  const schemas = dirs.map((d) => d.schema).filter((s): s is string => s !== undefined);
  if (schemas.length === 0 || PG_URL === undefined) return;
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  } finally {
    await client.end();
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export async function api(
  node: RunningNode,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; type: string | null }> {
  const res = await fetch(new URL(path, node.url), {
    method,
    headers: {
      authorization: `Bearer ${node.apiToken}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, type: res.headers.get("content-type") };
}
