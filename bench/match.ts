/**
 * Private matching (spec/match.md §performance). Lines:
 *
 * - `match.oprf.evaluate`: server POPRF evaluations per second on one core over libsodium (the
 *   constant-time path), per element, with one batched DLEQ proof per request of 64 elements;
 *   alongside: batches of 1 and 32, OPRF mode (no proof), the non-interactive Evaluate that
 *   builds a filter, the bare libsodium multiplication (the ceiling), and the `@noble/curves`
 *   oracle. Rates from wall time and from this process's CPU time (less sensitive to other jobs).
 * - `match.primitives`: microseconds per operation for the choices of spec/match.md (ristretto255
 *   against X25519 through libsodium and through node:crypto).
 * - `match.psi.1e4`: wall time of a 10^4 × 10^4 DH-PSI, both parties in this process on a pool of
 *   worker threads (one per core), with the pool already started; its start-up time alongside.
 * - `match.psi.1e6`: the same for 10^6 × 10^6, inputs streamed chunk by chunk. It takes minutes,
 *   so it runs only when asked for: `npm run bench -- match.psi.1e6`; `npm run bench -- match`
 *   runs the other lines.
 *
 * `npm run bench -- match.oprf` (or any line-name prefix) runs only the lines it names. Wall-clock
 * figures on a shared machine: each line carries the load average at its start; run three times
 * and take the median.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { pathToFileURL } from "node:url";
import { pippenger } from "@noble/curves/abstract/curve.js";
import { ed25519_hasher, ristretto255, ristretto255_oprf } from "@noble/curves/ed25519.js";
import { PsiPool, createParallelPsiParty } from "../src/compute/index.js";
import { intersectPacked } from "../src/core/match/index.js";
import { loadSodium } from "../src/crypto/oprf/group.js";
import {
  createPoprfServer,
  loadGroup,
  loadGroupOn,
  loadNativeAddon,
  oprfSuiteOf,
  useRistrettoBackend,
  type Ristretto255,
} from "../src/crypto/oprf/index.js";

export interface MatchBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const MIN_SECONDS = 1.5;
const BATCH = 64;

interface Rate {
  /** Elements per second of wall time. */
  readonly wall: number;
  /** Elements per second of this process's CPU time. */
  readonly cpu: number;
}

/** Rates for `op`, which handles `perCall` elements per call. */
function rate(op: () => unknown, perCall: number, minSeconds = MIN_SECONDS): Rate {
  op(); // warm-up
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (calls < 3 || elapsed < minSeconds) {
    op();
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    wall: Math.round((calls * perCall) / elapsed),
    cpu: Math.round((calls * perCall) / ((cpu.user + cpu.system) / 1e6)),
  };
}

const load = (): number => Number((loadavg()[0] ?? 0).toFixed(1));
const micros = (r: Rate): number => Number((1e6 / r.wall).toFixed(1));

/** One backend's figures: POPRF with proof at batch 64 (the headline), 32 and 1, and the rest. */
async function backendFigures(g: Ristretto255) {
  const suite = oprfSuiteOf(g);
  const keys = suite.poprf.generateKeyPair();
  const server = await createPoprfServer(keys.secretKey, g);
  const info = new TextEncoder().encode("agreement:bench epoch:1");
  const blinded = Array.from(
    { length: BATCH },
    (_, i) => suite.poprf.blind(Uint8Array.of(i), info, keys.publicKey).blindedElement,
  );
  const of = (n: number) => blinded.slice(0, n);
  const packed = new Uint8Array(BATCH * 32);
  blinded.forEach((e, i) => {
    packed.set(e, i * 32);
  });
  const scalars = g.hashToScalarMany(blinded, Uint8Array.of(1));
  const batched = rate(() => server.blindEvaluate(blinded, info), BATCH);
  const batch32 = rate(() => server.blindEvaluate(of(32), info), 32);
  const single = rate(() => server.blindEvaluate(of(1), info), 1);
  // OPRF mode (0x00): one multiplication by the key per element, no proof.
  const withoutProof = rate(() => suite.oprf.blindEvaluate(keys.secretKey, blinded), BATCH);
  const inputs = Array.from({ length: BATCH }, (_, i) => Uint8Array.of(i, 1, 2, 3));
  const evaluate = rate(() => server.evaluateMany(inputs, info), BATCH);
  // The ceiling: the constant-time multiplication alone, a batch per call.
  const bare = rate(() => g.multManyOrIndex(keys.secretKey, packed), BATCH);
  // The proof's composite M = sum d_i * C_i over 64 public terms.
  const composite = rate(() => g.linearCombinationMany(scalars, packed), 1, 0.7);
  return {
    backend: g.backend,
    evaluationsPerSecond: { wall: batched.wall, cpu: batched.cpu },
    microsPerElement: {
      batch64: micros(batched),
      batch32: micros(batch32),
      single: micros(single),
    },
    cpuRate: { batch64: batched.cpu, batch32: batch32.cpu, single: single.cpu },
    singleWithProof: single.wall,
    oprfModeNoProof: { wall: withoutProof.wall, cpu: withoutProof.cpu },
    evaluateForFilter: { wall: evaluate.wall, cpu: evaluate.cpu },
    bareScalarMult: { wall: bare.wall, cpu: bare.cpu },
    composite64Micros: micros(composite),
  };
}

/**
 * The composite over public data with a variable-time multi-scalar multiplication (Pippenger, in
 * `@noble/curves`): legitimate here because d_i and C_i are public, but measured slower than 64
 * constant-time multiplications in libsodium, so it is not used.
 */
function nobleCompositeMicros(g: Ristretto255): number {
  const blinded = Array.from({ length: BATCH }, (_, i) =>
    g.multGen(g.hashToScalar(Uint8Array.of(i), Uint8Array.of(2))),
  );
  const scalars = g.hashToScalarMany(blinded, Uint8Array.of(1));
  const order = ristretto255.Point.Fn.ORDER;
  const scalarList = Array.from({ length: BATCH }, (_, i) => {
    let x = 0n;
    for (let j = 31; j >= 0; j--) x = (x << 8n) | BigInt(scalars[i * 32 + j] ?? 0);
    return x % order;
  });
  return micros(
    rate(
      () => {
        const points = blinded.map((b) => ristretto255.Point.fromBytes(b));
        return pippenger(ristretto255.Point, points, scalarList).toBytes();
      },
      1,
      0.7,
    ),
  );
}

async function oprfLine(): Promise<MatchBenchResult> {
  const loadAtStart = load();
  const groups = [await loadGroupOn("wasm")];
  const addon = loadNativeAddon().addon;
  if (addon !== undefined) groups.push(await loadGroupOn("native"));
  const figures = [];
  for (const g of groups) figures.push(await backendFigures(g));
  const wasm = groups[0]!;
  const keys = oprfSuiteOf(wasm).poprf.generateKeyPair();
  const info = new TextEncoder().encode("agreement:bench epoch:1");
  const of8 = Array.from(
    { length: 8 },
    (_, i) => oprfSuiteOf(wasm).poprf.blind(Uint8Array.of(i), info, keys.publicKey).blindedElement,
  );
  const nobleOprf = rate(
    () => {
      for (const e of of8) ristretto255_oprf.oprf.blindEvaluate(keys.secretKey, e);
    },
    8,
    1,
  );
  const noble = ristretto255_oprf.poprf(info);
  const nobleBatched = rate(() => noble.blindEvaluateBatch(keys.secretKey, of8), 8, 1);
  const running = (await loadGroup()).backend;
  const chosen = figures.find((f) => f.backend === running) ?? figures[0];
  return {
    bench: "match.oprf.evaluate",
    value: chosen?.evaluationsPerSecond.wall ?? 0,
    unit: "evaluations/s",
    mode: "POPRF ristretto255-SHA512, libsodium (constant time), one core",
    backend: running,
    batch: BATCH,
    proof: "one batched DLEQ proof per request, included",
    backends: figures,
    ...(addon === undefined ? { nativeAbsent: loadNativeAddon().reason } : {}),
    compositeNoblePippenger64Micros: nobleCompositeMicros(wasm),
    nobleOprfModeNoProof: nobleOprf.wall,
    nobleBatched: nobleBatched.wall,
    loadAverage: loadAtStart,
    target: 5000,
  };
}

/** Microseconds per call of `op`. */
function perCall(op: () => unknown, seconds = 0.7): number {
  return Number((1e6 / rate(op, 1, seconds).wall).toFixed(1));
}

async function primitivesLine(): Promise<MatchBenchResult> {
  const loadAtStart = load();
  const sodium = await loadSodium();
  const raw = (sodium as unknown as { libsodium: Record<string, (...a: number[]) => number> })
    .libsodium;
  const heap = (sodium as unknown as { libsodium: { HEAPU8: Uint8Array } }).libsodium;
  const k = sodium.crypto_core_ristretto255_scalar_random();
  const p = sodium.crypto_core_ristretto255_random();
  const u = sodium.crypto_scalarmult_base(sodium.randombytes_buf(32));
  const block = raw._malloc?.(160) ?? 0;
  heap.HEAPU8.set(k, block);
  heap.HEAPU8.set(p, block + 32);
  heap.HEAPU8.set(u, block + 64);
  const call = (name: string, ...args: number[]) => raw[name]?.(...args);
  const mine = generateKeyPairSync("x25519").privateKey;
  const peerDer = generateKeyPairSync("x25519").publicKey.export({ format: "der", type: "spki" });
  const peer = createPublicKey({ key: peerDer, format: "der", type: "spki" });
  const wide = randomBytes(64);
  const result = {
    bench: "match.primitives",
    value: perCall(() => call("_crypto_scalarmult_ristretto255", block + 96, block, block + 32)),
    unit: "µs per ristretto255 multiplication (libsodium, direct call)",
    ristretto255MultWrapper: perCall(() => sodium.crypto_scalarmult_ristretto255(k, p)),
    ristretto255FromHash: perCall(() => sodium.crypto_core_ristretto255_from_hash(wide)),
    // RFC 9380 edwards25519_XMD:SHA-512_ELL2_RO_ (the curve25519 map plus the rational map):
    // what X25519-based PSI would need per item; libsodium.js does not export it.
    curve25519HashToCurveNoble: perCall(() => ed25519_hasher.hashToCurve(wide.subarray(0, 16))),
    x25519LibsodiumDirect: perCall(() => call("_crypto_scalarmult", block + 96, block, block + 64)),
    x25519NodeDhOnly: perCall(() => diffieHellman({ privateKey: mine, publicKey: peer })),
    x25519NodeImportAndDh: perCall(() =>
      diffieHellman({
        privateKey: mine,
        publicKey: createPublicKey({ key: peerDer, format: "der", type: "spki" }),
      }),
    ),
    loadAverage: loadAtStart,
  };
  heap.HEAPU8.fill(0, block, block + 160);
  call("_free", block);
  return result;
}

const ENCODER = new TextEncoder();

/** Item i of one side: shared with the other side when i < n/2. */
function item(side: string, i: number, n: number): Uint8Array {
  return ENCODER.encode(i < n / 2 ? `shared:${String(i)}` : `${side}:${String(i)}`);
}

/** One side's items, generated as they are consumed; long runs report progress on stderr. */
function* stream(side: string, n: number): Generator<Uint8Array> {
  const start = process.hrtime.bigint();
  const step = n >= 100_000 ? n / 10 : n;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % step === 0) {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      process.stderr.write(
        `psi ${side}: ${String(i)} of ${String(n)} read, ${seconds.toFixed(0)} s\n`,
      );
    }
    yield item(side, i, n);
  }
}

/** Both parties in this process on one pool; A learns the indices of its items B holds. */
async function psiRun(pool: PsiPool, n: number) {
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const alice = await createParallelPsiParty(pool, { context: "bench" });
  const bob = await createParallelPsiParty(pool, { context: "bench" });
  const [aliceBlind, bobBlind] = await Promise.all([
    alice.blind(stream("a", n)),
    bob.blind(stream("b", n), { shuffle: true }),
  ]);
  const [aliceDouble, bobDouble] = await Promise.all([
    bob.exponentiate(aliceBlind),
    alice.exponentiate(bobBlind),
  ]);
  const found = intersectPacked(aliceDouble, bobDouble).length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  if (found !== n / 2) throw new Error(`psi found ${String(found)} of ${String(n / 2)}`);
  return {
    seconds: Number(seconds.toFixed(2)),
    cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(2)),
  };
}

/** The 10^4 run again on the wasm backend, for the ratio (the native one is the headline). */
async function wasmComparison(n: number): Promise<object> {
  if (n > 10_000 || loadNativeAddon().addon === undefined) return {};
  useRistrettoBackend("wasm");
  const pool = await PsiPool.start();
  try {
    return { wasmBackend: await psiRun(pool, n) };
  } finally {
    await pool.close();
    useRistrettoBackend("auto");
  }
}

async function psiLine(name: string, n: number): Promise<MatchBenchResult> {
  const loadAtStart = load();
  const started = process.hrtime.bigint();
  const pool = await PsiPool.start();
  const startSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const run = await psiRun(pool, n);
    return {
      bench: name,
      value: run.seconds,
      unit: "s",
      backend: (await loadGroup()).backend,
      ...(await wasmComparison(n)),
      sizes: `${String(n)} x ${String(n)}`,
      scalarMults: 4 * n,
      hashesToGroup: 2 * n,
      threads: pool.threads,
      cpuSeconds: run.cpuSeconds,
      poolStartSeconds: Number(startSeconds.toFixed(2)),
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
      loadAverage: loadAtStart,
      ...(n === 10_000 ? { target: 3 } : {}),
    };
  } finally {
    await pool.close();
  }
}

const LINES: Record<string, () => Promise<MatchBenchResult>> = {
  "match.oprf.evaluate": oprfLine,
  "match.primitives": primitivesLine,
  "match.psi.1e4": () => psiLine("match.psi.1e4", 10_000),
};
const ON_REQUEST: Record<string, () => Promise<MatchBenchResult>> = {
  "match.psi.1e6": () => psiLine("match.psi.1e6", 1_000_000),
};

/** The lines `filter` names: all default lines for `match` (or none given), else by prefix. */
export async function run(filter = process.argv[2]): Promise<MatchBenchResult[]> {
  const wanted = (name: string) =>
    filter === undefined || filter === "match" || name.startsWith(filter);
  const out: MatchBenchResult[] = [];
  for (const [name, line] of Object.entries(LINES)) if (wanted(name)) out.push(await line());
  for (const [name, line] of Object.entries(ON_REQUEST)) {
    if (filter !== undefined && name.startsWith(filter) && filter.startsWith("match.psi.1e6"))
      out.push(await line());
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) console.log(JSON.stringify(r));
}
