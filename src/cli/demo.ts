/**
 * The demo federation: three sovereign nodes (XA, XB, XC), each its own HTTP server on 127.0.0.1
 * with its own SQLite database and keys under DATA_DIR/<node>/, playing scenario steps 1-5 and 8 of
 * VISION.md and narrating what happened and why.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { AccordError } from "../errors.js";
import { verifyLedger, type ShareOutcome } from "../app/node.js";
import { logChecks } from "./demo-log.js";
import type { Agreement } from "../core/agreement/parse.js";
import { loadConfig, type ConfigFile } from "./config.js";
import { createNodeSecrets } from "./secrets.js";
import { startNode, type RunningNode } from "./compose.js";
import { DEMO_GRADE, narrateMinimization } from "./demo-minimize.js";
import { demoOfficers, playMatchStep } from "./demo-match.js";
import { playOnwardStep } from "./demo-onward.js";
import { playRecallStep } from "./demo-recall.js";
import { signAgreementsStep } from "./demo-agreements.js";
import { demoClock, playSunsetStep } from "./demo-sunset.js";

const MARKER = ".accord-demo";
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const EXAMPLES_DIR = join(ROOT, "examples");

const NODES = [
  {
    id: "XA",
    name: "CERT of XA",
    agreements: ["regional-cyber-accord.yaml", "fiu-mou.yaml", "pilot-exchange.yaml"],
  },
  {
    id: "XB",
    name: "National cyber centre of XB",
    agreements: ["regional-cyber-accord.yaml", "fiu-mou.yaml", "pilot-exchange.yaml"],
  },
  { id: "XC", name: "Police cyber unit of XC", agreements: ["regional-cyber-accord.yaml"] },
] as const;

export interface DemoOptions {
  readonly once: boolean;
  readonly dataDir: string;
  /** First port; XB and XC take the next two. 0 picks free ports. */
  readonly basePort: number;
  readonly json: boolean;
  /** Resolves when the demo should stop serving (default: SIGINT or SIGTERM). */
  readonly until?: Promise<void>;
}

export interface DemoSummary {
  readonly nodes: {
    id: string;
    url: string;
    fingerprint: string;
    dir: string;
    objects: number;
    ledger: number;
    ledgerIntact: boolean;
  }[];
  readonly ingested: { bundle: string; objects: number };
  readonly shares: ShareOutcome[];
  readonly delivered: { recipient: string; envelope: string; accepted: number; rejected: number }[];
  readonly checks: { name: string; ok: boolean }[];
}

export async function runDemo(
  opts: DemoOptions,
  io: { out(t: string): void; err(t: string): void },
): Promise<number> {
  prepareDataDir(opts.dataDir);
  const say = (line = "") => {
    if (!opts.json) io.out(`${line}\n`);
  };
  const running: RunningNode[] = [];
  const clock = demoClock(); // one adjustable clock for the federation (step 8 moves it)
  /** Stops `n`, runs `during`, then starts `n` again at the same address, in its place. */
  const offline = async (n: RunningNode, during: () => Promise<void>): Promise<RunningNode> => {
    const at = running.indexOf(n);
    running.splice(at, 1); // a stopped node is not stopped again at the end
    await n.stop();
    await during();
    const port = Number(new URL(n.url).port);
    const again = await startNode({ ...n.config, port, publicUrl: n.url }, { clock });
    running.splice(at, 0, again);
    return again;
  };
  try {
    say("Accord demo federation: scenario steps 1-5 and 8 of VISION.md");
    say("");
    for (const [i, spec] of NODES.entries()) {
      const dir = join(opts.dataDir, spec.id);
      const config: ConfigFile = {
        node: { id: spec.id, name: spec.name },
        server: { host: "127.0.0.1", port: opts.basePort === 0 ? 0 : opts.basePort + i },
        storage: { driver: "sqlite", path: "accord.db" },
        delivery: { interval_ms: 500 },
        log: { level: "info", file: "node.log" },
        ...(spec.id === "XA" ? { minimization: { source_grade: DEMO_GRADE } } : {}),
        ...(spec.id === "XB" ? { officers: demoOfficers() } : {}),
      };
      mkdirSync(join(dir, "agreements"), { recursive: true });
      writeFileSync(join(dir, "accord.yaml"), stringify(config));
      createNodeSecrets(join(dir, "keys", "node-keys.json"), join(dir, "keys", "api-token"));
      for (const a of spec.agreements)
        copyFileSync(join(EXAMPLES_DIR, "agreements", a), join(dir, "agreements", a));
      try {
        running.push(await startNode(loadConfig(dir, {}), { clock }));
      } catch (e) {
        if ((e as { code?: string }).code === "EADDRINUSE")
          throw new AccordError(
            "ERR_BAD_REQUEST",
            `port ${config.server?.port ?? 0} is taken; choose others with \`--base-port N\` (or 0 for free ports)`,
          );
        throw e;
      }
    }
    const [xa, xbAtStart, xc] = running as [RunningNode, RunningNode, RunningNode];
    let xb = xbAtStart; // step 8 takes XB offline and starts it again
    for (const n of running)
      say(
        `  ${n.node.id}  ${n.url.padEnd(24)} key ${n.node.fingerprint()}  store ${join(n.config.dir, "accord.db")}`,
      );
    say("");
    for (const a of xa.node.listAgreements()) say(`  agreement ${describeAgreement(a)}`);
    say("");

    // Partners learn each other's keys from signed descriptors, checked against the fingerprints
    // exchanged out of band (here: the demo knows them).
    for (const n of running)
      for (const other of running)
        if (other !== n) await n.node.addPeer(other.url, other.node.fingerprint());
    say("Partners fetched each other's signed descriptors and checked the key fingerprints.");
    say("");
    const agreementChecks = await signAgreementsStep(running, say);

    // Step 1.
    const bundle: unknown = JSON.parse(
      readFileSync(join(EXAMPLES_DIR, "demo", "ransomware-intrusion.json"), "utf8"),
    );
    const ingested = await xa.node.ingest(bundle);
    say("Step 1: XA's CERT ingests a ransomware intrusion");
    say(
      `  ${ingested.objects} objects from ${ingested.bundleId} validated as STIX 2.1 and stored on XA`,
    );
    say("");

    // Step 2.
    say("Step 2: XA shares with XB and XC under the regional cyber accord, for cyber defence");
    const shares = await xa.node.share({
      recipients: ["XB", "XC"],
      purpose: "cyber-defence",
      agreementId: "regional-cyber-accord",
    });
    await xa.deliverNow();
    const outbox = await xa.store.outbox.list({ limit: 100 });
    const delivered: DemoSummary["delivered"] = [];
    for (const share of shares) {
      say(
        `  to ${share.recipient}: ${share.sent} objects sealed for ${share.recipient} (signed by XA, encrypted to ${share.recipient}), ${share.refused} refused`,
      );
      for (const v of share.verdicts) {
        if (v.effect === "deny") {
          say(`    refused  ${v.id}`);
          for (const r of v.reasons) say(`             ${r.message}`);
        }
      }
      // Properties removed from many objects are summarised; the rest are shown per object.
      const permitted = share.verdicts.filter((v) => v.effect === "permit");
      const dropCount = new Map<string, number>();
      for (const v of permitted)
        for (const p of v.dropped) dropCount.set(p, (dropCount.get(p) ?? 0) + 1);
      const common = new Set([...dropCount].filter(([, n]) => n > 3).map(([p]) => p));
      for (const v of permitted) {
        const shown = v.reasons.filter(
          (r) =>
            r.effect === "drop" &&
            ![...common].some((p) => r.message.includes(`property \`${p}\``)),
        );
        if (shown.length === 0) continue;
        say(`    stripped ${v.id}`);
        for (const r of shown) say(`             ${r.message}`);
      }
      for (const p of common)
        say(
          `    stripped \`${p}\` from ${dropCount.get(p) ?? 0} objects: not listed in §data.types.<type>.properties`,
        );
      for (const item of outbox.filter((o) => o.recipient === share.recipient)) {
        if (item.status !== "delivered" || item.receipt === null) {
          say(
            `    envelope ${item.id} is ${item.status} (attempts ${item.attempts}, last error ${item.lastError ?? "none"})`,
          );
          continue;
        }
        const rec = await xa.store.ledger.list(0, 10_000);
        const entry = rec.find((e) => e.kind === "receipt" && e.data.envelope === item.id);
        const accepted = Number(entry?.data.accepted ?? 0);
        const rejected = Number(entry?.data.rejected ?? 0);
        delivered.push({ recipient: share.recipient, envelope: item.id, accepted, rejected });
        say(
          `    delivered: ${share.recipient} verified, decrypted, validated and decided on every object; its signed receipt (${accepted} stored, ${rejected} rejected) verified with ${share.recipient}'s key`,
        );
      }
    }
    const checks: DemoSummary["checks"] = await narrateMinimization(
      shares,
      [xb, xc].map((n) => ({ id: n.node.id, store: n.store })),
      say,
    );
    say("");
    checks.push(...(await playMatchStep(xa, xb, say)));
    const heldAtXc = (id: string) =>
      shares.find((s) => s.recipient === "XC")?.verdicts.find((v) => v.id === id)?.sentAs ?? id;
    checks.push(...(await playOnwardStep(xc, heldAtXc, opts.dataDir, say)));
    checks.push(...(await playRecallStep(xa, [xb, xc], say)));
    const sunset = await playSunsetStep(xa, xb, clock, (during) => offline(xb, during), say);
    xb = sunset.xb;
    checks.push(...sunset.checks);
    checks.unshift(...agreementChecks);

    // What each node holds now, and checks a reader can repeat by opening the databases. Ids
    // were re-issued per agreement: each partner holds XA's objects under the id they travelled as.
    const sentAs = (to: string, id: string) =>
      shares.find((s) => s.recipient === to)?.verdicts.find((v) => v.id === id)?.sentAs ?? id;
    const suspect = "identity--91b322a3-331d-4bac-94c2-019caaf4b63a";
    for (const n of [xb, xc]) {
      const copy = await n.store.objects.get(sentAs(n.node.id, suspect));
      checks.push({
        name: `${n.node.id} holds the suspect's persona without \`x_iban\` or contact details`,
        ok:
          copy !== undefined &&
          !("x_iban" in copy.object) &&
          !("contact_information" in copy.object),
      });
      const note = await n.store.objects.get("note--a5a378b2-9db1-47e7-b023-3c3d42a6184e");
      checks.push({
        name: `${n.node.id} never received the TLP:RED source note`,
        ok: note === undefined,
      });
      const ind = await n.store.objects.get(
        sentAs(n.node.id, "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4"),
      );
      checks.push({
        name: `${n.node.id} holds XA's C2 indicator with provenance (XA, regional-cyber-accord v1, retention set)`,
        ok:
          ind?.provenance.originator === "XA" &&
          ind.provenance.agreementId === "regional-cyber-accord" &&
          ind.provenance.retentionUntil !== null &&
          !("created_by_ref" in ind.object),
      });
    }
    const nodes: DemoSummary["nodes"] = [];
    for (const n of running) {
      const v = await verifyLedger(n.store);
      checks.push({
        name: `${n.node.id}'s log recomputes (Merkle tiles and roots)`,
        ok: v.firstBroken === -1,
      });
      nodes.push({
        id: n.node.id,
        url: n.url,
        fingerprint: n.node.fingerprint(),
        dir: n.config.dir,
        objects: await n.store.objects.count(),
        ledger: v.size,
        ledgerIntact: v.firstBroken === -1,
      });
    }
    checks.push(...(await logChecks(running)));
    say("What each node holds now");
    for (const n of nodes)
      say(
        `  ${n.id}: ${n.objects} objects, ${n.ledger} log entries (every decision, share, receipt, acceptance, query, recall and purge)`,
      );
    say("");
    say("Checks");
    for (const c of checks) say(`  ${c.ok ? "ok  " : "FAIL"} ${c.name}`);
    say("");
    const summary: DemoSummary = {
      nodes,
      ingested: { bundle: ingested.bundleId, objects: ingested.objects },
      shares,
      delivered,
      checks,
    };
    if (opts.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
    const ok =
      checks.every((c) => c.ok) && delivered.length === shares.filter((s) => s.sent > 0).length;
    if (!ok) {
      io.err("accord demo: some checks failed (see above)\n");
      return 1;
    }
    say(`The databases, keys and logs stay under ${opts.dataDir}/<node>/ for inspection`);
    say(`(try: npx accord log verify --dir ${join(opts.dataDir, "XB")}).`);
    if (!opts.once) {
      say("The three nodes keep serving; press Ctrl-C to stop.");
      for (const n of running) say(`  ${n.node.id}: curl ${n.url}/.well-known/accord-node`);
      await (opts.until ?? untilSignal());
    }
    return 0;
  } finally {
    for (const n of running.reverse()) await n.stop();
  }
}

function describeAgreement(a: Agreement): string {
  const d = a.doc;
  const types = Object.keys(d.data.types);
  return `${a.id} v${a.version} (${d.parties.map((p) => p.node).join(", ")}): purposes ${d.purposes.permitted.join(", ")}; ${types.length > 0 ? `types ${types.join(", ")}` : "no data types (hit/no-hit only)"}; TLP:${d.markings.tlp_ceiling.toUpperCase()} at most; kept ${d.retention.default_days} days; onward sharing ${d.onward_sharing.allowed ? "allowed" : "off"}; sunset ${d.sunset}`;
}

/** Start from a clean demo directory, but never delete a directory the demo did not create. */
function prepareDataDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, MARKER)))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`${dir}\` is not empty and was not made by \`accord demo\`; choose another --data-dir`,
      );
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, MARKER),
    "made by `accord demo`; the next demo run replaces this directory\n",
  );
}

function untilSignal(): Promise<void> {
  return new Promise((res) => {
    process.once("SIGINT", () => {
      res();
    });
    process.once("SIGTERM", () => {
      res();
    });
  });
}
