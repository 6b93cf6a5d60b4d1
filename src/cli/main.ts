#!/usr/bin/env node
/**
 * `accord` — the command line. Every command prints for people by default and one JSON document
 * with `--json`. Exit codes (spec/cli.md): 0 done, 1 internal failure, 2 usage, 3 invalid input,
 * 4 refused (policy, authentication, unknown partner, bad signature), 5 a node or partner is
 * unreachable.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { AccordError, isAccordError, type ErrorCode } from "../errors.js";
import { parseStix } from "../core/stix/validate.js";
import { parseAgreement } from "../core/agreement/parse.js";
import {
  governAll,
  signAgreement,
  signingPayload,
  type AgreementSignature,
} from "../core/agreement/lifecycle.js";
import { diffAgreements } from "../core/agreement/diff.js";
import { jwkThumbprint, parsePublicJwk, type PublicJwk } from "../crypto/keys.js";
import { verifyLedger, type IngestResult, type ShareOutcome } from "../app/node.js";
import type { Clock, LedgerEntry, OutboxItem, Peer } from "../app/ports.js";
import { CONFIG_FILE, loadConfig, type ConfigFile } from "./config.js";
import { createNodeSecrets, loadNodeKeys } from "./secrets.js";
import { openStore, startNode } from "./compose.js";
import { outboxCommand } from "./outbox-cli.js";
import { ApiClient } from "./api-client.js";
import { runDemo } from "./demo.js";
import { taxiiCommand } from "./taxii.js";
import { MATCH_HELP, runMatchCli } from "./match.js";
import { agreementOnNode } from "./agreement-commands.js";
import { minimizeCommand } from "./minimize.js";
import { RECALL_COMMANDS, RECALL_HELP, recallCommand } from "./recall.js";
import { logCommand } from "./log.js";
import { witnessCommand } from "./witness.js";
import { KEYS_HELP, keysCommand } from "./keys.js";
import { UsageError } from "./args.js";

const VERSION = "0.1.0";

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  invalid: 3,
  refused: 4,
  unavailable: 5,
} as const;

const HELP = `accord ${VERSION} — sovereign, privacy-preserving intelligence sharing

Usage: accord <command> [options]

Commands:
  demo [--once] [--data-dir DIR] [--base-port N]
                         run the demo federation (XA, XB, XC) and play scenario steps 1-5 and 8
  init --node-id ID [--name NAME] [--port N] [--database-url URL] [--dir DIR]
                         create a node: config, Ed25519 + X25519 keys, API token (0600)
  node start [--dir DIR] [--port N]
                         run a node until Ctrl-C
  status [--dir DIR]     what the running node holds
  ingest FILE [--dir DIR]
                         validate a STIX 2.1 bundle and store it on the running node
  share --to ID[,ID] --purpose P [--agreement A] [--object ID]... [--dir DIR]
                         decide, minimize, seal and deliver objects to partners
  peer add URL [--fingerprint F] [--dir DIR]
                         learn a partner's keys from its signed descriptor
  peer list [--dir DIR]
  agreement add FILE [--dir DIR] | agreement list [--dir DIR] | agreement lint FILE
  agreement hash FILE | agreement show FILE | agreement diff OLD NEW
                         the canonical hash parties sign; the document with defaults; changed clauses
  agreement sign FILE [--dir DIR]
                         sign the version's canonical hash with this node's Ed25519 key
  agreement status FILE [SIGNATURE_FILE...] [--dir DIR]
                         draft, proposed, in force...: the signatures checked against known keys
  agreement status ID [--dir DIR]
                         the running node's view: state of every version, who still has to sign
  agreement sign ID [VERSION] [--dir DIR] | agreement sync ID [VERSION] [--dir DIR]
                         sign on the node and exchange signatures with the other parties
  agreement suspend|resume|terminate ID [--party P] [--by OVERSIGHT] [--reason R] [--dir DIR]
                         record a lifecycle event (by this node, or an oversight body) and tell the parties
  policy explain OBJECT --purpose P [--dir DIR]
                         dry run: which partner would receive the object, under which clause,
                         and the minimized copy each would get
  minimize FILE [--profile P] [--agreement A] [--epoch N] [--grade admiralty:B2] [--dir DIR]
                         dry run: the minimized bundle and what was removed or transformed, and
                         why (profile \`strict\` when --profile is left out)
  ledger [--from N] [--limit N] [--verify] [--dir DIR]
                         read the node's log entries (--verify: recompute its Merkle log)
  log verify [--db FILE | --url URL [--token T]] [--vkey VKEY] [--state FILE] [--dir DIR]
             [--witness VKEY]... [--min-cosigs N]
                         recompute a node's Merkle log, tiles, roots and checkpoint signatures;
                         with --witness, require N witnesses' cosignatures (exit 4 if fewer)
  log prove --entry N | log tail [--limit N] | log vkey [--dir DIR]
                         inclusion proof of an entry; the newest entries; the checkpoint key
  witness init --dir DIR --name NAME | witness add --dir DIR --url URL --vkey VKEY
  witness run --dir DIR [--once] [--interval-ms N]
                         a standalone oversight witness: its key (prints the vkey for a node's
                         witness.oversight), the logs it watches, and cosigning them (exit 4 on
                         an inconsistent checkpoint, evidence kept in DIR/evidence)
  validate FILE          check a STIX 2.1 bundle offline
  outbox [list] [pending|delivered|cancelled] [--limit N] [--dir DIR]
                         each envelope's state, attempts, last error and next attempt
  outbox cancel ID [--dir DIR]
                         cancel a pending envelope: it is never sent (logged)
${MATCH_HELP}${RECALL_HELP}${KEYS_HELP}Global options:
  --json                 print one JSON document instead of text
  --help, -h             this help
  --version              the version

The node directory (--dir) defaults to $ACCORD_DIR or the current directory.
Exit codes: 0 done, 1 internal, 2 usage, 3 invalid input, 4 refused, 5 unreachable.
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

const options = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  dir: { type: "string" },
  "node-id": { type: "string" },
  name: { type: "string" },
  port: { type: "string" },
  "database-url": { type: "string" },
  to: { type: "string" },
  purpose: { type: "string" },
  agreement: { type: "string" },
  object: { type: "string", multiple: true },
  fingerprint: { type: "string" },
  from: { type: "string" },
  limit: { type: "string" },
  verify: { type: "boolean" },
  once: { type: "boolean" },
  "data-dir": { type: "string" },
  "base-port": { type: "string" },
  force: { type: "boolean" },
  profile: { type: "string" },
  epoch: { type: "string" },
  grade: { type: "string" },
  reason: { type: "string" },
  by: { type: "string" },
  party: { type: "string" },
} satisfies ParseArgsConfig["options"];

type Values = ReturnType<
  typeof parseArgs<{ options: typeof options; allowPositionals: true }>
>["values"];

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io,
  /** The clock of commands that write to the store themselves (`taxii credential`). */
  deps: { readonly clock?: Clock } = {},
): Promise<number> {
  if (argv[0] === "taxii")
    return taxiiCommand(argv.slice(1), env, io, deps.clock).catch((e: unknown) =>
      report(e, argv.includes("--json"), io),
    );
  if (argv[0] === "match" || argv[0] === "request" || argv[0] === "officer")
    return runMatchCli(argv, env, io, exitCodeFor);
  if (RECALL_COMMANDS.has(argv[0] ?? ""))
    return recallCommand(argv, env, io, (e, json) => report(e, json, io));
  if (argv[0] === "log") return logCommand(argv.slice(1), env, io);
  if (argv[0] === "witness") return witnessCommand(argv.slice(1), env, io);
  if (argv[0] === "keys")
    return keysCommand(argv.slice(1), env, io, (e, json) => report(e, json, io));
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: valuesAttached(argv, options),
      options,
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.err(`accord: ${(e as Error).message}\n\n${HELP}`);
    return EXIT.usage;
  }
  const json = values.json === true;
  if (values.version === true) {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined || command === "help") {
    io.out(HELP);
    return EXIT.ok;
  }
  const dir = values.dir ?? env.ACCORD_DIR ?? ".";
  const print = (human: string, doc: unknown) => {
    io.out(
      json ? `${JSON.stringify(doc, null, 2)}\n` : human.endsWith("\n") ? human : `${human}\n`,
    );
  };

  try {
    switch (command) {
      case "demo":
        return await runDemo(
          {
            once: values.once === true,
            dataDir: resolve(values["data-dir"] ?? join(".accord", "demo")),
            basePort: intFlag(values["base-port"], "base-port", 7401),
            json,
          },
          io,
        );
      case "init":
        return init(dir, values, print);
      case "node":
        if (rest[0] !== "start") throw new UsageError("expected `accord node start`");
        return await nodeStart(dir, env, values, io);
      case "status": {
        const api = ApiClient.forConfig(loadConfig(dir, env));
        const s = await api.call<{
          id: string;
          fingerprint: string;
          store: string;
          objects: number;
          ledger: number;
          peers: string[];
          agreements: { id: string; version: number }[];
        }>("GET", "/node");
        print(
          `${s.id} (key ${s.fingerprint}) on ${s.store}: ${s.objects} object versions, ${s.ledger} ledger entries\npartners: ${s.peers.join(", ") || "none"}\nagreements: ${s.agreements.map((a) => `${a.id} v${a.version}`).join(", ") || "none"}`,
          s,
        );
        return EXIT.ok;
      }
      case "ingest": {
        const file = need(rest[0], "ingest FILE");
        const bundle = readJsonFile(file);
        const api = ApiClient.forConfig(loadConfig(dir, env));
        const r = await api.call<IngestResult>("POST", "/bundles", { json: bundle });
        print(
          `ingested ${r.objects} objects from ${r.bundleId}: ${r.stored} stored, ${r.unchanged} already held`,
          r,
        );
        return EXIT.ok;
      }
      case "share":
        return await share(dir, env, values, print);
      case "peer": {
        const api = ApiClient.forConfig(loadConfig(dir, env));
        if (rest[0] === "add") {
          const url = need(rest[1], "peer add URL");
          const p = await api.call<Peer & { fingerprint: string }>("POST", "/peers", {
            json: {
              url,
              ...(values.fingerprint === undefined ? {} : { fingerprint: values.fingerprint }),
            },
          });
          const warn =
            values.fingerprint === undefined
              ? "\nwarning: no --fingerprint given; compare the fingerprint above with the partner out of band"
              : "";
          print(
            `added partner ${p.nodeId} at ${p.url}, key fingerprint ${p.fingerprint}${warn}`,
            p,
          );
          return EXIT.ok;
        }
        if (rest[0] === "list") {
          const { peers } = await api.call<{ peers: Peer[] }>("GET", "/peers");
          print(
            peers
              .map((p) => `${p.nodeId}\t${p.url}\t${jwkThumbprint(p.signingKey as never)}`)
              .join("\n") || "no partners",
            peers,
          );
          return EXIT.ok;
        }
        throw new UsageError("expected `accord peer add URL` or `accord peer list`");
      }
      case "agreement": {
        if (rest[0] === "lint") {
          const file = need(rest[1], "agreement lint FILE");
          const a = parseAgreement(readText(file), file);
          print(`${file}: ${a.id} v${a.version} is well formed (hash ${a.hash})`, {
            id: a.id,
            version: a.version,
            hash: a.hash,
          });
          return EXIT.ok;
        }
        if (rest[0] === "hash") {
          const file = need(rest[1], "agreement hash FILE");
          const a = parseAgreement(readText(file), file);
          print(a.hash, { ...signingPayload(a) });
          return EXIT.ok;
        }
        if (rest[0] === "show") {
          const file = need(rest[1], "agreement show FILE");
          const a = parseAgreement(readText(file), file);
          print(stringify(a.doc).trimEnd(), a.doc);
          return EXIT.ok;
        }
        if (rest[0] === "diff") {
          const before = need(rest[1], "agreement diff OLD NEW");
          const after = need(rest[2], "agreement diff OLD NEW");
          const changes = diffAgreements(
            parseAgreement(readText(before), before),
            parseAgreement(readText(after), after),
          );
          print(
            changes
              .map((c) =>
                c.kind === "changed"
                  ? `~ ${c.path}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`
                  : `${c.kind === "added" ? "+" : "-"} ${c.path}: ${JSON.stringify(c.kind === "added" ? c.after : c.before)}`,
              )
              .join("\n") || "no change of meaning",
            { changes },
          );
          return EXIT.ok;
        }
        const onNode = await agreementOnNode(rest, {
          dir,
          env,
          print,
          flags: {
            ...(values.reason === undefined ? {} : { reason: values.reason }),
            ...(values.by === undefined ? {} : { by: values.by }),
            ...(values.party === undefined ? {} : { party: values.party }),
          },
        });
        if (onNode !== undefined) return onNode;
        if (rest[0] === "sign") {
          const file = need(rest[1], "agreement sign FILE");
          const a = parseAgreement(readText(file), file);
          const cfg = loadConfig(dir, env);
          if (!a.doc.parties.some((p) => p.node === cfg.nodeId))
            throw new AccordError(
              "ERR_AGREEMENT_INVALID",
              `${file}: this node \`${cfg.nodeId}\` is not a party to \`${a.id}\``,
            );
          const sig = await signAgreement(
            a,
            cfg.nodeId,
            loadNodeKeys(cfg.keysFile).signing.privateKey,
          );
          print(JSON.stringify(sig), sig);
          return EXIT.ok;
        }
        if (rest[0] === "status") {
          const file = need(rest[1], "agreement status FILE [SIGNATURE_FILE...]");
          const a = parseAgreement(readText(file), file);
          const signatures = rest.slice(2).flatMap((f) => {
            const v: unknown = JSON.parse(readText(f));
            return (Array.isArray(v) ? v : [v]) as AgreementSignature[];
          });
          const cfg = loadConfig(dir, env);
          const keys = new Map<string, PublicJwk>([
            [cfg.nodeId, loadNodeKeys(cfg.keysFile).signing.publicJwk],
          ]);
          const { peers } = await ApiClient.forConfig(cfg).call<{ peers: Peer[] }>("GET", "/peers");
          for (const peer of peers)
            keys.set(peer.nodeId, parsePublicJwk(peer.signingKey, "Ed25519"));
          const [g] = await governAll([{ agreement: a, signatures }], keys, [], new Date());
          if (g === undefined) throw new AccordError("ERR_INTERNAL", "no state was computed");
          const sig = g.state.signatures;
          print(
            `${a.id} v${a.version}: ${g.state.status} (${g.state.detail})\nsigned: ${sig.signed.join(", ") || "none"}\nmissing: ${sig.missing.join(", ") || "none"}${sig.invalid.length > 0 ? `\ninvalid signatures: ${sig.invalid.join(", ")}` : ""}`,
            { id: a.id, version: a.version, hash: a.hash, ...g.state },
          );
          return g.state.status === "in-force" ? EXIT.ok : EXIT.refused;
        }
        const api = ApiClient.forConfig(loadConfig(dir, env));
        if (rest[0] === "add") {
          const file = need(rest[1], "agreement add FILE");
          const source = readText(file);
          parseAgreement(source, file); // local errors carry the real file name
          const r = await api.call<{ id: string; version: number; hash: string; added: boolean }>(
            "POST",
            "/agreements",
            { text: source, type: "application/yaml" },
          );
          print(`${r.added ? "added" : "already held"}: ${r.id} v${r.version} (hash ${r.hash})`, r);
          return EXIT.ok;
        }
        if (rest[0] === "list") {
          const r = await api.call<{
            agreements: { id: string; version: number; title: string; sunset: string }[];
          }>("GET", "/agreements");
          print(
            r.agreements
              .map((a) => `${a.id} v${a.version}\t${a.title}\tsunset ${a.sunset}`)
              .join("\n") || "no agreements",
            r,
          );
          return EXIT.ok;
        }
        throw new UsageError(
          "expected `accord agreement add|list|lint|hash|show|diff|sign|status`",
        );
      }
      case "policy": {
        if (rest[0] !== "explain") throw new UsageError("expected `accord policy explain OBJECT`");
        const file = need(rest[1], "policy explain OBJECT --purpose P");
        const purpose = values.purpose;
        if (purpose === undefined)
          throw new UsageError("`accord policy explain` needs --purpose P");
        const object: unknown = JSON.parse(readText(file));
        const api = ApiClient.forConfig(loadConfig(dir, env));
        const r = await api.call<{
          recipients: {
            partner: string;
            agreement: { id: string; version: number };
            decision: {
              effect: string;
              reasons: { message: string }[];
              obligations?: { retentionUntil: string; profile: string; handling: { code: string } };
            };
            minimized?: {
              profile: string;
              effect: string;
              object?: unknown;
              changes: { path: string; action: string; reason: string }[];
              reasons?: { message: string }[];
            };
          }[];
        }>("POST", "/decisions/dry-run", { json: { object, purpose } });
        print(
          r.recipients
            .map((x) => {
              const d = x.decision;
              const head = `${x.partner} under ${x.agreement.id} v${x.agreement.version}: ${d.effect}`;
              const ob =
                d.obligations === undefined
                  ? ""
                  : ` (profile ${d.obligations.profile}, ${d.obligations.handling.code}, keep until ${d.obligations.retentionUntil})`;
              const m = x.minimized;
              const min =
                m === undefined
                  ? ""
                  : `\n  minimized (profile ${m.profile}): ${m.effect === "permit" ? "sent as" : "refused"}\n${[
                      ...(m.reasons ?? []).map((r) => `    ${r.message}`),
                      ...m.changes.map((c) => `    ${c.action} ${c.path}: ${c.reason}`),
                      ...(m.object === undefined ? [] : [`    ${JSON.stringify(m.object)}`]),
                    ].join("\n")}`;
              return `${head}${ob}\n${d.reasons.map((r) => `  ${r.message}`).join("\n")}${min}`;
            })
            .join("\n") || "no agreement names a partner",
          r,
        );
        return EXIT.ok;
      }
      case "ledger":
        return await ledger(dir, env, values, print);
      case "outbox":
        await outboxCommand(rest, loadConfig(dir, env), intFlag(values.limit, "limit", 100), print);
        return EXIT.ok;
      case "minimize":
        return minimizeCommand(
          { ...values, file: need(rest[0], "minimize FILE"), dir, env },
          print,
        );
      case "validate": {
        const file = need(rest[0], "validate FILE");
        const bundle = parseStix(readText(file));
        const n = bundle.objects.length;
        print(`${file}: valid STIX 2.1 (${n} objects)`, { valid: true, objects: n });
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown command \`${command}\``);
    }
  } catch (e) {
    return report(e, json, io);
  }
}

/**
 * `--name VALUE` rewritten as `--name=VALUE` for the string options, so a value that starts with
 * "-" is still a value: an RFC 7638 key fingerprint is base64url and starts with "-" once in 64
 * (parseArgs in strict mode refuses `--fingerprint -Xy…` as ambiguous).
 */
function valuesAttached(
  argv: readonly string[],
  opts: Readonly<Record<string, { type: "string" | "boolean" }>>,
): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? "";
    const next = argv[i + 1];
    if (a.startsWith("--") && opts[a.slice(2)]?.type === "string" && next !== undefined) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function report(e: unknown, json: boolean, io: Io): number {
  if (e instanceof UsageError) {
    io.err(`accord: ${e.message}\nRun \`accord --help\` for usage.\n`);
    return EXIT.usage;
  }
  if (isAccordError(e)) {
    if (json)
      io.out(
        `${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details } }, null, 2)}\n`,
      );
    else {
      const lines = e.details
        .slice(0, 20)
        .map(
          (d) =>
            `  - ${d.objectId === undefined ? "" : `${d.objectId} `}${d.path ?? ""}${d.path === undefined ? "" : ": "}${d.message}`,
        );
      io.err(
        `accord: ${e.message} [${e.code}]\n${lines.join("\n")}${lines.length > 0 ? "\n" : ""}`,
      );
    }
    return exitCodeFor(e.code);
  }
  io.err(`accord: internal error: ${(e as Error).message}\n`);
  return EXIT.internal;
}

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "ERR_MALFORMED_INPUT":
    case "ERR_STIX_INVALID":
    case "ERR_AGREEMENT_INVALID":
    case "ERR_CONFIG_INVALID":
    case "ERR_BAD_REQUEST":
    case "ERR_BODY_TOO_LARGE":
    case "ERR_UNSUPPORTED_MEDIA_TYPE":
    case "ERR_NOT_ACCEPTABLE":
    case "ERR_NOT_FOUND":
      return EXIT.invalid;
    case "ERR_POLICY_DENIED":
    case "ERR_AGREEMENT_NOT_IN_FORCE":
    case "ERR_UNKNOWN_PARTNER":
    case "ERR_SIGNATURE_INVALID":
    case "ERR_UNAUTHENTICATED":
    case "ERR_FORBIDDEN":
    case "ERR_REPLAY":
    case "ERR_DECRYPTION_FAILED":
    case "ERR_ENVELOPE_INVALID":
    case "ERR_BUDGET_EXHAUSTED":
      return EXIT.refused;
    case "ERR_PEER_UNAVAILABLE":
      return EXIT.unavailable;
    case "ERR_KEYS_INVALID":
    case "ERR_STORAGE":
    case "ERR_INTERNAL":
      return EXIT.internal;
  }
}

function need(v: string | undefined, usage: string): string {
  if (v === undefined || v === "") throw new UsageError(`expected \`accord ${usage}\``);
  return v;
}

function intFlag(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--${name} must be an integer from 0 to 65535`);
  return n;
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new AccordError("ERR_NOT_FOUND", `cannot read \`${file}\``);
  }
}

function readJsonFile(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `\`${file}\` is not valid JSON: ${(e as Error).message}`,
    );
  }
}

function init(dir: string, values: Values, print: (h: string, d: unknown) => void): number {
  const nodeId = values["node-id"];
  if (nodeId === undefined) throw new UsageError("`accord init` needs --node-id ID");
  const root = resolve(dir);
  const configPath = join(root, CONFIG_FILE);
  if (existsSync(configPath) && values.force !== true)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`${configPath}\` already exists; a node's keys are never overwritten (use another --dir)`,
    );
  const dbUrl = values["database-url"];
  const config: ConfigFile = {
    node: { id: nodeId, name: values.name ?? nodeId },
    server: { host: "127.0.0.1", port: intFlag(values.port, "port", 7400) },
    storage:
      dbUrl === undefined
        ? { driver: "sqlite", path: "data/accord.db" }
        : { driver: "postgres", url: dbUrl },
    keys: { file: "keys/node-keys.json", api_token_file: "keys/api-token" },
    agreements: { dir: "agreements" },
  };
  mkdirSync(join(root, "agreements"), { recursive: true });
  const keysFile = join(root, "keys", "node-keys.json");
  const { keys } = createNodeSecrets(keysFile, join(root, "keys", "api-token"));
  writeFileSync(configPath, `# Accord node configuration (spec/config.md)\n${stringify(config)}`, {
    mode: 0o644,
  });
  const cfg = loadConfig(root, {}); // validates what was written
  const fingerprint = jwkThumbprint(keys.signing.publicJwk);
  print(
    `created node ${cfg.nodeId} in ${root}\n  config      ${configPath}\n  keys        ${keysFile} (0600)\n  fingerprint ${fingerprint}\nNext: put agreement files in ${cfg.agreementsDir} and run \`accord node start --dir ${dir}\``,
    {
      nodeId: cfg.nodeId,
      dir: root,
      fingerprint,
      encryptionFingerprint: jwkThumbprint(keys.encryption.publicJwk),
    },
  );
  return EXIT.ok;
}

async function nodeStart(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  values: Values,
  io: Io,
): Promise<number> {
  const port = values.port === undefined ? undefined : intFlag(values.port, "port", 0);
  const config = loadConfig(dir, env, port === undefined ? {} : { port });
  const running = await startNode(config);
  io.err(
    `accord: node ${config.nodeId} listening on ${running.url} (key ${running.node.fingerprint()}); Ctrl-C to stop\n`,
  );
  await new Promise<void>((resolveStop) => {
    const stop = () => {
      resolveStop();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await running.stop();
  return EXIT.ok;
}

async function share(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  values: Values,
  print: (h: string, d: unknown) => void,
): Promise<number> {
  const to = values.to;
  const purpose = values.purpose;
  if (to === undefined || purpose === undefined)
    throw new UsageError("`accord share` needs --to ID[,ID] and --purpose P");
  const api = ApiClient.forConfig(loadConfig(dir, env));
  const { outcomes } = await api.call<{ outcomes: ShareOutcome[] }>("POST", "/shares", {
    json: {
      recipients: to
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
      purpose,
      ...(values.agreement === undefined ? {} : { agreement: values.agreement }),
      ...(values.object === undefined ? {} : { objects: values.object }),
    },
  });
  await api.call<{ pending: number }>("POST", "/deliveries");
  const envelopes = outcomes.flatMap((o) => o.envelopes);
  const states = await Promise.all(
    envelopes.map((id) => api.call<OutboxItem>("GET", `/outbox/${id}`)),
  );
  const delivered = states.filter((s) => s.status === "delivered").length;
  const delivery = {
    envelopes: envelopes.length,
    delivered,
    pending: envelopes.length - delivered,
  };
  const lines: string[] = [];
  for (const o of outcomes) {
    lines.push(
      `${o.recipient}: ${o.sent} sent in ${o.envelopes.length} envelope(s), ${o.refused} refused`,
    );
    for (const v of o.verdicts) {
      if (v.effect === "deny")
        lines.push(`  refused ${v.id}: ${v.reasons.map((r) => r.message).join("; ")}`);
      else if (v.dropped.length > 0)
        lines.push(`  sent ${v.id} without ${v.dropped.map((p) => `\`${p}\``).join(", ")}`);
    }
  }
  lines.push(
    `delivery: ${delivered} of ${envelopes.length} envelopes delivered${delivery.pending > 0 ? "; the rest will be retried" : ""}`,
  );
  print(lines.join("\n"), { outcomes, delivery });
  return outcomes.every((o) => o.sent === 0) ? EXIT.refused : EXIT.ok;
}

async function ledger(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  values: Values,
  print: (h: string, d: unknown) => void,
): Promise<number> {
  const config = loadConfig(dir, env);
  if (values.verify === true) {
    // Verification reads the store directly, so it works on a stopped node too.
    const store = await openStore(config);
    try {
      const r = await verifyLedger(store);
      print(
        r.firstBroken === -1
          ? `ledger intact: ${r.size} entries`
          : `ledger BROKEN at entry ${r.firstBroken} of ${r.size}: ${r.problem ?? ""}`,
        r,
      );
      return r.firstBroken === -1 ? EXIT.ok : EXIT.refused;
    } finally {
      await store.close();
    }
  }
  const api = ApiClient.forConfig(config);
  const from = values.from === undefined ? 0 : Number(values.from);
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  const r = await api.call<{ entries: LedgerEntry[]; size: number }>(
    "GET",
    `/ledger?from=${from}&limit=${limit}`,
  );
  print(
    r.entries.map((e) => `${e.seq}\t${e.at}\t${e.kind}\t${JSON.stringify(e.data)}`).join("\n") ||
      "the ledger is empty",
    r,
  );
  return EXIT.ok;
}

// Run when executed as the `accord` binary (not when imported by tests).
function invokedDirectly(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    return realpathSync(arg) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
if (invokedDirectly()) {
  main(process.argv.slice(2), process.env, {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`accord: internal error: ${(e as Error).message}\n`);
      process.exitCode = EXIT.internal;
    },
  );
}
