/**
 * Private matching (spec/match.md): server-side POPRF evaluations per second on one core over
 * libsodium (the constant-time path), with the `@noble/curves` oracle's figure alongside, and the
 * wall time of a 10^4 × 10^4 DH-PSI run with the pure functions in one process (both parties,
 * one thread). `run()` returns the results; `npx tsx bench/match.ts` prints them as JSON lines.
 * Wall-clock figures on a shared machine: compare within one run.
 */
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { ristretto255_oprf } from "@noble/curves/ed25519.js";
import { createPsiParty, intersect } from "../src/core/match/index.js";
import { createPoprfServer, loadOprfSuite } from "../src/crypto/oprf/index.js";

export interface MatchBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const MIN_SECONDS = 1.5;
const BATCH = 32;
const PSI_SIZE = 10_000;

/** Elements per second for `op`, which handles `perCall` elements per call. */
function rate(op: () => unknown, perCall: number, minSeconds = MIN_SECONDS): number {
  op(); // warm-up
  let calls = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (calls < 3 || elapsed < minSeconds) {
    op();
    calls++;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  }
  return (calls * perCall) / elapsed;
}

export async function run(): Promise<MatchBenchResult[]> {
  const suite = await loadOprfSuite();
  const keys = suite.poprf.generateKeyPair();
  const server = await createPoprfServer(keys.secretKey);
  const info = new TextEncoder().encode("agreement:bench epoch:1");
  const blinded = Array.from(
    { length: BATCH },
    (_, i) => suite.poprf.blind(Uint8Array.of(i), info, keys.publicKey).blindedElement,
  );
  const one = blinded.slice(0, 1);

  const batched = rate(() => server.blindEvaluate(blinded, info), BATCH);
  const single = rate(() => server.blindEvaluate(one, info), 1);
  // OPRF mode (0x00): one multiplication by the key, no proof; the like-for-like with the anchors.
  const withoutProof = rate(() => suite.oprf.blindEvaluate(keys.secretKey, blinded), BATCH);
  const nobleOprf = rate(
    () => {
      for (const e of blinded) ristretto255_oprf.oprf.blindEvaluate(keys.secretKey, e);
    },
    BATCH,
    1,
  );
  const noble = ristretto255_oprf.poprf(info);
  const nobleBlinded = noble.blind(Uint8Array.of(1), keys.publicKey).blinded;
  const nobleSingle = rate(() => noble.blindEvaluate(keys.secretKey, nobleBlinded), 1, 1);
  const nobleBatched = rate(() => noble.blindEvaluateBatch(keys.secretKey, blinded), BATCH, 1);

  // DH-PSI, 10^4 × 10^4, half the items shared; both parties in this process, one thread.
  const shared = Array.from({ length: PSI_SIZE / 2 }, () => new Uint8Array(randomBytes(16)));
  const a = [
    ...shared,
    ...Array.from({ length: PSI_SIZE / 2 }, () => new Uint8Array(randomBytes(16))),
  ];
  const b = [
    ...shared,
    ...Array.from({ length: PSI_SIZE / 2 }, () => new Uint8Array(randomBytes(16))),
  ];
  const start = process.hrtime.bigint();
  const alice = await createPsiParty({ context: "bench" });
  const bob = await createPsiParty({ context: "bench" });
  const aliceDouble = bob.exponentiate(alice.blind(a));
  const bobDouble = alice.exponentiate(bob.blind(b, { shuffle: true }));
  const found = intersect(aliceDouble, bobDouble).length;
  const psiSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (found !== PSI_SIZE / 2)
    throw new Error(`psi found ${String(found)} of ${String(PSI_SIZE / 2)}`);

  return [
    {
      bench: "match.oprf.evaluate",
      value: Math.round(batched),
      unit: "evaluations/s",
      mode: "POPRF ristretto255-SHA512, libsodium, one core",
      batch: BATCH,
      proof: "one batched DLEQ proof per call, included",
      singleWithProof: Math.round(single),
      oprfModeNoProof: Math.round(withoutProof),
      nobleOprfModeNoProof: Math.round(nobleOprf),
      nobleBatched: Math.round(nobleBatched),
      nobleSingle: Math.round(nobleSingle),
      target: 5000,
    },
    {
      bench: "match.psi.1e4",
      value: Number(psiSeconds.toFixed(2)),
      unit: "s",
      sizes: `${String(PSI_SIZE)} x ${String(PSI_SIZE)}`,
      scalarMults: 4 * PSI_SIZE,
      threads: 1,
      target: 3,
    },
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) console.log(JSON.stringify(r));
}
