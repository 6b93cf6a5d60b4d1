// Builds the optional native ristretto255 addon (native/ristretto255, spec/match.md §performance)
// with node-gyp against the system's libsodium (Debian: libsodium-dev). Never fails the install:
// when the addon cannot build, it says why and Accord runs on libsodium.js (wasm) instead.
// `npm run build` runs it after tsc; it skips the build when the addon is newer than its sources.
// ACCORD_SKIP_NATIVE=1 skips it altogether.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// A build script, not library code: it reads npm's and the user's settings from the environment.
const env = process.env; // eslint-disable-line no-restricted-syntax

const dir = fileURLToPath(new URL("../native/ristretto255/", import.meta.url));
const addon = join(dir, "build/Release/accord_ristretto255.node");
const sources = ["ristretto255.c", "binding.gyp"].map((f) => join(dir, f));

function upToDate(): boolean {
  if (!existsSync(addon)) return false;
  const built = statSync(addon).mtimeMs;
  return sources.every((f) => statSync(f).mtimeMs <= built);
}

/** node-gyp: npm's own (set for npm scripts), else the copy bundled with npm next to node. */
function nodeGyp(): string[] {
  const fromNpm = env.npm_config_node_gyp;
  if (fromNpm !== undefined && existsSync(fromNpm)) return [process.execPath, fromNpm];
  const prefix = dirname(dirname(process.execPath));
  const bundled = join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  return existsSync(bundled) ? [process.execPath, bundled] : ["node-gyp"];
}

/** The installed Node headers, so node-gyp need not download them. */
function nodedirFlags(): string[] {
  const prefix = dirname(dirname(process.execPath));
  return existsSync(join(prefix, "include/node/node_api.h")) ? [`--nodedir=${prefix}`] : [];
}

function main(): void {
  if (env.ACCORD_SKIP_NATIVE === "1") {
    console.log("native ristretto255 addon: skipped (ACCORD_SKIP_NATIVE=1); the wasm backend runs");
    return;
  }
  if (upToDate()) return;
  const [command = "node-gyp", ...args] = nodeGyp();
  const run = spawnSync(command, [...args, "rebuild", ...nodedirFlags()], {
    cwd: dir,
    encoding: "utf8",
  });
  if (run.status === 0 && existsSync(addon)) {
    console.log(`native ristretto255 addon: built (${addon})`);
    return;
  }
  const why = (run.error?.message ?? run.stderr)
    .split("\n")
    .filter((l) => /error|not found|No such/i.test(l))
    .slice(0, 3)
    .join("\n");
  console.warn(
    "native ristretto255 addon: not built; Accord will use the wasm backend (libsodium.js).\n" +
      "To build it, install libsodium's headers (Debian: apt-get install libsodium-dev) and run " +
      "`npm run build:native`.\n" +
      why,
  );
}

main();
