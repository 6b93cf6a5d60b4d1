/**
 * Minimization profiles by name (spec/minimization.md §profiles on a node): the profiles shipped
 * in examples/profiles/ and those in the node's own profiles directory (`minimization.profiles_dir`
 * in accord.yaml), each file parsed and checked at start so a broken profile stops the node
 * instead of denying every share later. A name defined twice is an error: the profile an agreement
 * names must mean one thing.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AccordError } from "../errors.js";
import { parseProfile, STRICT_PROFILE_NAME, type Profile } from "../core/minimize/index.js";
import type { MinimizationSetup } from "../app/minimization.js";
import type { NodeConfig } from "./config.js";
import { loadMinimizationSecret } from "./secrets.js";

/** examples/profiles/ of this installation (from src/cli or dist/cli alike). */
export const SHIPPED_PROFILES_DIR = join(
  resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."),
  "examples",
  "profiles",
);

function profileFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every profile in `dirs` (missing directories are skipped), by name. */
export function loadProfiles(dirs: readonly string[]): ReadonlyMap<string, Profile> {
  const byName = new Map<string, { profile: Profile; file: string }>();
  for (const dir of dirs) {
    for (const file of profileFiles(dir)) {
      const profile = parseProfile(readFileSync(file, "utf8"), file);
      const seen = byName.get(profile.name);
      if (seen !== undefined)
        throw new AccordError(
          "ERR_CONFIG_INVALID",
          `${file}: the profile \`${profile.name}\` is already defined in \`${seen.file}\`; give it another name`,
        );
      byName.set(profile.name, { profile, file });
    }
  }
  if (!byName.has(STRICT_PROFILE_NAME))
    throw new AccordError(
      "ERR_CONFIG_INVALID",
      `no \`${STRICT_PROFILE_NAME}\` profile in ${dirs.map((d) => `\`${d}\``).join(" or ")}: agreements that name no profile need it`,
    );
  return new Map([...byName].map(([name, v]) => [name, v.profile]));
}

/** The directories a node reads profiles from, shipped first. */
export function profileDirs(config: Pick<NodeConfig, "profilesDir">): string[] {
  const own = resolve(config.profilesDir);
  return own === resolve(SHIPPED_PROFILES_DIR) ? [own] : [SHIPPED_PROFILES_DIR, own];
}

/** Secret, profiles, grade and epochs for a node, from its config and its secret file. */
export function loadMinimizationSetup(config: NodeConfig): MinimizationSetup {
  const secret = loadMinimizationSecret(config.minimizationSecretFile);
  const profiles = loadProfiles(profileDirs(config));
  const epochs = config.epochs;
  return {
    secret,
    profiles,
    ...(config.sourceGrade === undefined ? {} : { sourceGrade: config.sourceGrade }),
    epoch: (agreementId) =>
      Object.prototype.hasOwnProperty.call(epochs, agreementId)
        ? (epochs[agreementId] ?? config.epoch)
        : config.epoch,
  };
}
