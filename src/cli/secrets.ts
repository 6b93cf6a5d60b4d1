/**
 * Secret files: the node's private keys and its API token, written 0600 and refused when their
 * permissions are wider (as ssh does), so a misconfigured host fails loudly instead of leaking.
 */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
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

export function createNodeSecrets(
  keysFile: string,
  tokenFile: string,
): { keys: NodeKeys; token: string } {
  const keys = generateNodeKeys();
  const token = randomBytes(32).toString("base64url");
  writeSecret(keysFile, exportNodeKeys(keys));
  writeSecret(tokenFile, `${token}\n`);
  return { keys, token };
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
