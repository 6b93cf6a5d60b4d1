/**
 * `accord officer add|list`: the officers who decide follow-up requests (spec/match.md, "Decision
 * rights"). `add` makes a fresh token, writes its SHA-256 into accord.yaml's `officers` (the
 * rest of the file, comments included, is kept) and hands the token out once: into a new 0600
 * file, or on standard output. The node reads the officers at start.
 */
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isSeq, parseDocument } from "yaml";
import { AccordError } from "../errors.js";
import { newOfficerToken, officerTokenHash, type Officer } from "../app/officers.js";
import { CONFIG_FILE, loadConfig, parseConfig } from "./config.js";
import { writeSecret } from "./secrets.js";
import { loadLogDigests } from "./log-digest-secret.js";

/**
 * The officers in accord.yaml, each with the pseudonym the node's log names them by (spec/log.md
 * "Keyed digests"), once the node has made its log-digest secret (on its first start).
 */
export function listOfficers(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
): (Officer & { pseudonym?: string })[] {
  const config = loadConfig(dir, env);
  const digests = loadLogDigests(config.keysFile);
  return config.officers.map((o) => ({
    name: o.name,
    roles: [...o.roles],
    ...(digests === undefined ? {} : { pseudonym: digests.officer(o.name) }),
  }));
}

/**
 * Add an officer with a new token. The new configuration is validated before anything is
 * written; the token file (when asked for) is created first and removed again if the
 * configuration cannot be replaced, so a failure leaves neither half behind.
 */
export function addOfficer(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  roles: readonly string[],
  tokenFile: string | undefined,
): { name: string; roles: string[]; configFile: string; token: string | undefined } {
  const root = resolve(dir);
  const before = loadConfig(dir, env);
  const trimmed = name.trim();
  if (before.officers.some((o) => o.name === trimmed))
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `an officer named \`${trimmed}\` is already in accord.yaml; remove that entry first to give a new token`,
    );
  const file = join(root, CONFIG_FILE);
  const doc = parseDocument(readFileSync(file, "utf8"));
  const token = newOfficerToken();
  const entry = { name: trimmed, roles: [...roles], token_sha256: officerTokenHash(token) };
  const current = doc.get("officers");
  if (current === undefined || current === null) doc.set("officers", [entry]);
  else if (isSeq(current)) current.add(doc.createNode(entry));
  else throw new AccordError("ERR_CONFIG_INVALID", `${file}: \`officers\` is not a list`);
  const text = doc.toString();
  parseConfig(root, file, text, env); // refuses a bad role or name, naming it
  if (tokenFile !== undefined) writeSecret(tokenFile, `${token}\n`);
  const staged = `${file}.next`;
  try {
    writeFileSync(staged, text, { mode: statSync(file).mode & 0o777 });
    renameSync(staged, file);
  } catch (e) {
    rmSync(staged, { force: true });
    if (tokenFile !== undefined) rmSync(tokenFile, { force: true });
    throw e;
  }
  return {
    name: trimmed,
    roles: [...roles],
    configFile: file,
    token: tokenFile === undefined ? token : undefined,
  };
}
