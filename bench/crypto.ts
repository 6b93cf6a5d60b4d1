/**
 * Sealed-envelope throughput (spec/envelope.md): seal (Ed25519 sign + X25519 ECDH-ES + A256GCM)
 * and open (the reverse, with every check) of one envelope, for a 1 KiB and a 1 MiB payload.
 * `run()` returns one result per payload size and operation; `npx tsx bench/crypto.ts` prints
 * them as JSON lines. Wall-clock figures on a shared machine: compare within one run.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { openEnvelope, sealEnvelope, type EnvelopeHeader } from "../src/crypto/envelope.js";
import { generateNodeKeys } from "../src/crypto/keys.js";

export interface CryptoBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const SIZES = [
  { label: "1KiB", bytes: 1024, minIterations: 200 },
  { label: "1MiB", bytes: 1024 * 1024, minIterations: 10 },
] as const;
const MIN_SECONDS = 1.5;

export async function run(): Promise<CryptoBenchResult[]> {
  const sender = generateNodeKeys();
  const recipient = generateNodeKeys();
  const now = new Date();
  const header = (): EnvelopeHeader => ({
    id: randomUUID(),
    sender: "node-a",
    recipient: "node-b",
    createdAt: now.toISOString(),
    contentType: "application/stix+json;version=2.1",
  });
  const seal = (payload: Uint8Array): Promise<string> =>
    sealEnvelope(header(), payload, sender.signing.privateKey, recipient.encryption.publicJwk);
  const open = (envelope: string): Promise<unknown> =>
    openEnvelope(envelope, {
      recipientKeys: recipient,
      expectedRecipient: "node-b",
      senderKey: () => Promise.resolve(sender.signing.publicJwk),
      now,
      maxSkewSeconds: 300,
    });

  const results: CryptoBenchResult[] = [];
  for (const size of SIZES) {
    const payload = new Uint8Array(randomBytes(size.bytes));
    const envelope = await seal(payload); // also warms up
    await open(envelope);
    const measure = async (
      op: () => Promise<unknown>,
    ): Promise<{ perSecond: number; n: number }> => {
      let n = 0;
      const start = process.hrtime.bigint();
      let elapsed = 0;
      while (n < size.minIterations || elapsed < MIN_SECONDS) {
        await op();
        n++;
        elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      }
      return { perSecond: n / elapsed, n };
    };
    const both = await measure(async () => open(await seal(payload)));
    const sealOnly = await measure(() => seal(payload));
    const openOnly = await measure(() => open(envelope));
    const extra = { payloadBytes: size.bytes, envelopeBytes: envelope.length };
    results.push(
      {
        bench: `crypto.seal+open.${size.label}`,
        value: round(both.perSecond),
        unit: "ops/s",
        iterations: both.n,
        ...extra,
      },
      {
        bench: `crypto.seal.${size.label}`,
        value: round(sealOnly.perSecond),
        unit: "ops/s",
        iterations: sealOnly.n,
        ...extra,
      },
      {
        bench: `crypto.open.${size.label}`,
        value: round(openOnly.perSecond),
        unit: "ops/s",
        iterations: openOnly.n,
        ...extra,
      },
    );
  }
  return results;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
