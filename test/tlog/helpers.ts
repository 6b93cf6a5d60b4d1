/** Shared helpers for the tlog tests: vector files, encodings, small trees. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { isAccordError } from "../../src/errors.js";
import { leafHash } from "../../src/tlog/index.js";

const VECTORS = fileURLToPath(new URL("../../spec/vectors/", import.meta.url));

export function readVector(name: string): unknown {
  return JSON.parse(readFileSync(VECTORS + name, "utf8"));
}

export const hex = (t: string): Uint8Array => new Uint8Array(Buffer.from(t, "hex"));
export const toHex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const b64 = (t: string): Uint8Array => new Uint8Array(Buffer.from(t, "base64"));
export const toB64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

/** Leaf hashes of `n` synthetic leaves (leaf i's data is its index as 8 bytes). */
export function syntheticLeaves(n: number, salt = 0): Uint8Array[] {
  const out: Uint8Array[] = [];
  const data = Buffer.alloc(12);
  for (let i = 0; i < n; i++) {
    data.writeUInt32BE(salt, 0);
    data.writeDoubleBE(i, 4);
    out.push(leafHash(data));
  }
  return out;
}

/** A copy of `bytes` with bit `bit` flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const c = new Uint8Array(bytes);
  const i = Math.floor(bit / 8) % c.length;
  c[i] = c[i]! ^ (1 << (bit % 8));
  return c;
}

/** The AccordError code `run` throws, "ok" if it returns, or a description of another throw. */
export function outcomeOf(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (e) {
    return isAccordError(e) ? e.code : `not an AccordError: ${String(e)}`;
  }
}

export function expectCode(run: () => unknown, code: string, label?: string): void {
  expect(outcomeOf(run), label).toBe(code);
}
