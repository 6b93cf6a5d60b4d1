/**
 * Secret files: the node's private keys and its API token, written 0600 and refused when their
 * permissions are wider (as ssh does), so a misconfigured host fails loudly instead of leaking.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { AccordError } from "../errors.js";
import { exportNodeKeys, generateNodeKeys, importNodeKeys, type NodeKeys } from "../crypto/keys.js";

export function writeSecret(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
}

export function readSecret(path: string, what: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the ${what} file \`${path}\` is missing; create it with \`accord init\``,
    );
  }
  if ((mode & 0o077) !== 0)
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the ${what} file \`${path}\` is readable by others (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``,
    );
  return readFileSync(path, "utf8");
}

/**
 * A 32-byte secret in a 0600 file (base64url, one line), created with fresh random bytes when the
 * file does not exist yet: how a node gets the secrets it derives working keys from (the match
 * secret, the log-digest secret) on its first start, and an older node on its first start after
 * an upgrade. An existing file is never replaced.
 */
export function loadOrCreateSecret32(path: string, what: string): Uint8Array {
  if (!existsSync(path)) writeSecret(path, `${randomBytes(32).toString("base64url")}\n`);
  const text = readSecret(path, what).trim();
  const bytes = /^[A-Za-z0-9_-]{43}$/.test(text) ? Buffer.from(text, "base64url") : undefined;
  if (bytes?.length !== 32)
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the ${what} in \`${path}\` is not 32 bytes of base64url`,
    );
  return new Uint8Array(bytes);
}

/** Bytes of a new minimization secret (HKDF input for pseudonym and id keys; spec/minimization.md). */
export const MINIMIZATION_SECRET_BYTES = 32;

/**
 * Create a node's secrets: its keys, its API token and its minimization secret (beside the keys
 * unless another path is given), each 0600. Existing files are never overwritten.
 */
export function createNodeSecrets(
  keysFile: string,
  tokenFile: string,
  minimizationSecretFile: string = join(dirname(keysFile), "minimization-secret"),
): { keys: NodeKeys; token: string } {
  const keys = generateNodeKeys();
  const token = randomBytes(32).toString("base64url");
  writeSecret(keysFile, exportNodeKeys(keys));
  writeSecret(tokenFile, `${token}\n`);
  writeSecret(
    minimizationSecretFile,
    `${randomBytes(MINIMIZATION_SECRET_BYTES).toString("base64url")}\n`,
  );
  return { keys, token };
}

/** The node's minimization secret: base64 or base64url of at least 32 bytes, in a 0600 file. */
export function loadMinimizationSecret(file: string): Uint8Array {
  const text = readSecret(file, "minimization secret").trim();
  const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, "base64") : undefined;
  if (bytes === undefined || bytes.length < MINIMIZATION_SECRET_BYTES)
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the minimization secret in \`${file}\` must be the base64 of at least ${String(MINIMIZATION_SECRET_BYTES)} random bytes`,
    );
  return new Uint8Array(bytes);
}

export function loadNodeKeys(keysFile: string): NodeKeys {
  return importNodeKeys(readSecret(keysFile, "node keys"));
}

export function loadApiToken(tokenFile: string): string {
  const token = readSecret(tokenFile, "API token").trim();
  if (token.length < 32)
    throw new AccordError("ERR_KEYS_INVALID", `the API token in \`${tokenFile}\` is too short`);
  return token;
}
