/**
 * Demo, step 4 (VISION.md): XC tries to forward XA's indicators to XD. XD is a node XC knows (a
 * bilateral partner, with its own keys and store) but not a party to the regional cyber accord,
 * whose onward-sharing clause is off. The one outbound gate refuses every object, the refusal is
 * written to XC's log with the clause that refused it, XD receives nothing, and the oversight
 * body lists the refused attempt from XC's API (spec/recall.md, "Refused onward hops").
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { OnwardRefusal } from "../app/recall.js";
import { loadConfig, type ConfigFile } from "./config.js";
import { createNodeSecrets } from "./secrets.js";
import { startNode, type RunningNode } from "./compose.js";

const INDICATORS = [
  "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4",
  "indicator--6cd8c12f-91de-4cc9-ae6b-51add0dc7e56",
  "indicator--bdf3def1-949b-415a-9f87-6ccc6bf7f495",
];

export async function playOnwardStep(
  xc: RunningNode,
  /** The id XC holds each of XA's objects under. */
  heldAt: (id: string) => string,
  dataDir: string,
  say: (line?: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  say("Step 4: XC tries to forward XA's indicators to XD, which is not a party to the accord");
  const dir = join(dataDir, "XD");
  mkdirSync(join(dir, "agreements"), { recursive: true });
  const config: ConfigFile = {
    node: { id: "XD", name: "Cyber unit of XD (a bilateral partner of XC only)" },
    server: { host: "127.0.0.1", port: 0 },
    storage: { driver: "sqlite", path: "accord.db" },
    log: { level: "info", file: "node.log" },
  };
  writeFileSync(join(dir, "accord.yaml"), stringify(config));
  createNodeSecrets(join(dir, "keys", "node-keys.json"), join(dir, "keys", "api-token"));
  const xd = await startNode(loadConfig(dir, {}));
  try {
    await xc.node.addPeer(xd.url, xd.node.fingerprint());
    await xd.node.addPeer(xc.url, xc.node.fingerprint());
    say(`  XD runs at ${xd.url}; XC and XD know each other's keys`);

    const [outcome] = await xc.node.share({
      recipients: ["XD"],
      purpose: "cyber-defence",
      objectIds: INDICATORS.map(heldAt),
    });
    await xc.deliverNow();
    for (const v of outcome?.verdicts ?? []) {
      say(`    refused  ${v.id}`);
      for (const r of v.reasons.filter((x) => x.effect === "deny"))
        say(`             ${r.message}`);
    }

    // What the oversight body sees: the refusals, read from XC's API (metadata only).
    const res = await fetch(new URL("/api/v1/onward-refusals", xc.url), {
      headers: { authorization: `Bearer ${xc.apiToken}` },
    });
    const { refusals } = (await res.json()) as { refusals: OnwardRefusal[] };
    const attempts = refusals.filter((r) => r.partner === "XD" && r.originator === "XA");
    say(
      `  oversight: XC's log lists ${attempts.length} refused onward attempt(s) to XD of objects from XA (GET /api/v1/onward-refusals, \`accord onward-refusals\`)`,
    );
    say("");

    const logged = (await xc.store.ledger.list(0, 100_000)).filter(
      (e) => e.kind === "onward-refused" && e.data.partner === "XD",
    );
    return [
      {
        name: "XC's attempt to forward XA's indicators to XD is refused",
        ok:
          outcome?.sent === 0 &&
          outcome.refused === INDICATORS.length &&
          outcome.envelopes.length === 0,
      },
      {
        name: "XD received nothing",
        ok: (await xd.store.objects.count()) === 0,
      },
      {
        name: "the refusal and the clause behind it are in XC's log",
        ok:
          logged.length === INDICATORS.length &&
          logged.every(
            (e) =>
              Array.isArray(e.data.clauses) &&
              e.data.clauses.some((c) => /§(parties|onward_sharing)/.test(String(c))),
          ),
      },
      {
        name: "the oversight view lists the refused onward attempts",
        ok: res.ok && attempts.length === INDICATORS.length,
      },
    ];
  } finally {
    await xd.stop();
  }
}
