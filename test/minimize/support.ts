/** Shared helpers of the minimization tests: the example profiles and fixed keys. */
import { readFileSync } from "node:fs";
import {
  deriveMinimizationKeys,
  parseProfile,
  type Profile,
} from "../../src/core/minimize/index.js";

const PROFILES = new URL("../../examples/profiles/", import.meta.url);

export function exampleProfile(name: string): Profile {
  return parseProfile(readFileSync(new URL(`${name}.yaml`, PROFILES), "utf8"), `${name}.yaml`);
}

export const SECRET = new Uint8Array(32).fill(7);
export const AGREEMENT = "regional-cyber-accord";
export const KEYS = deriveMinimizationKeys(SECRET, AGREEMENT, 1);
export const CTX = { agreementId: AGREEMENT, epoch: 1, keys: KEYS } as const;
