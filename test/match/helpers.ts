/** Shared helpers for the match tests: vector files and hex. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const VECTORS = fileURLToPath(new URL("../../spec/vectors/", import.meta.url));

export function readVector(name: string): unknown {
  return JSON.parse(readFileSync(VECTORS + name, "utf8"));
}

export function hex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** noble implements `evaluate` in the OPRF and VOPRF modes but does not declare it. */
export function nobleEvaluate(
  mode: object,
): (secretKey: Uint8Array, input: Uint8Array) => Uint8Array {
  const evaluate = (mode as { evaluate?: unknown }).evaluate;
  if (typeof evaluate !== "function") throw new TypeError("the oracle has no evaluate");
  return evaluate as (secretKey: Uint8Array, input: Uint8Array) => Uint8Array;
}
