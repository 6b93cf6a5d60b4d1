/**
 * Child processes of the TAXII benches (bench/taxii.ts), run with `node --import tsx`:
 *
 *   taxii-proc.ts node DIR
 *       Start the node whose directory is DIR (durable SQLite), print {"url", "token"} as one JSON
 *       line, and stop cleanly on SIGTERM (printing {"cpu_ms"} first).
 *   taxii-proc.ts pull TAXII_URL TOKEN COLLECTION NODE_URL NODE_TOKEN BOOKMARKS
 *       Run `accord taxii pull`'s code against TAXII_URL (Bearer TOKEN, one collection) into the
 *       node at NODE_URL, and print the pull report with this process's wall and CPU time.
 */
import { pull } from "../src/cli/taxii.js";
import { ApiClient } from "../src/cli/api-client.js";
import { loadConfig } from "../src/cli/config.js";
import { start } from "../test/support/nodes.js";

const [mode, ...args] = process.argv.slice(2);

function cpuMs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

if (mode === "node") {
  const dir = args[0] ?? "";
  const node = await start({ id: loadConfig(dir, {}).nodeId, dir });
  process.stdout.write(`${JSON.stringify({ url: node.url, token: node.apiToken })}\n`);
  process.once("SIGTERM", () => {
    void node.stop().then(() => {
      process.stdout.write(`${JSON.stringify({ cpu_ms: cpuMs() })}\n`);
      process.exit(0);
    });
  });
} else if (mode === "pull") {
  const [url = "", token = "", collection = "", nodeUrl = "", nodeToken = "", bookmarks = ""] =
    args;
  const t0 = performance.now();
  const c0 = cpuMs();
  const report = await pull({
    url,
    auth: { kind: "bearer", token },
    api: new ApiClient(nodeUrl, nodeToken),
    bookmarks,
    collection,
    limit: 1000,
  });
  process.stdout.write(
    `${JSON.stringify({ ...report, ms: performance.now() - t0, cpu_ms: cpuMs() - c0 })}\n`,
  );
} else {
  process.stderr.write(
    "usage: taxii-proc.ts node DIR | pull URL TOKEN COLLECTION NODE_URL NODE_TOKEN FILE\n",
  );
  process.exitCode = 2;
}
