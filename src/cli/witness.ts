/**
 * `accord witness ...` (spec/log.md, "Oversight witnesses"): a standalone witness for an
 * oversight body that is not a node. It watches nodes' logs, cosigns each checkpoint that is
 * consistent with the last one it cosigned (C2SP tlog-cosignature), and sends the cosignature to
 * the node, which accepts it when the witness's vkey is in its `witness.oversight`.
 *
 *   accord witness init --dir DIR --name NAME      an Ed25519 witness key (0600); prints the vkey
 *   accord witness add --dir DIR --url URL --vkey VKEY
 *                                                 a log to watch and its checkpoint verifier key
 *   accord witness run --dir DIR [--once] [--interval-ms N]
 *
 * State (DIR/witness-state.json, written atomically: temp file, fsync, rename) holds the logs and
 * the last checkpoint cosigned for each, and is saved before a cosignature leaves DIR, so a
 * restarted witness never cosigns two conflicting checkpoints. The checks are the node's own
 * (app/witness.ts `checkOffered`). On an inconsistent checkpoint the witness refuses, keeps the
 * evidence (both checkpoints and the proof) in DIR/evidence/ and names the log in an alarm.
 *
 * Requests to the node are RFC 9421 signed with the witness key (the node knows it by its
 * thumbprint from `witness.oversight`, on /federation/v1/log/* only).
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { parseSubcommandArgs, type Env, type Io } from "./args.js";
import { checkOffered, checkpointOf } from "../app/witness.js";
import { jwkThumbprint } from "../crypto/keys.js";
import { AccordError, isAccordError } from "../errors.js";
import { signedFetch } from "../federation/http-peer-client.js";
import {
  COSIGNATURE_TYPE,
  ED25519_TYPE,
  addNoteSignatures,
  ed25519Cosigner,
  encodeBase64,
  encodeVerifierKey,
  parseVerifierKey,
  verifierFromKey,
} from "../tlog/index.js";
import { isKeyName } from "../tlog/note.js";

const EXIT = { ok: 0, usage: 2, invalid: 3, alarm: 4, unavailable: 5, internal: 1 } as const;
const KEY_FILE = "witness-key.json";
const STATE_FILE = "witness-state.json";

const USAGE = `Usage:
  accord witness init --dir DIR --name NAME
  accord witness add --dir DIR --url URL --vkey VKEY
  accord witness run --dir DIR [--once] [--interval-ms N]

Exit codes: 0 ok, 4 a log offered an inconsistent checkpoint (alarm; --once), 3 bad input,
5 a log unreachable (--once), 2 usage.
`;

interface WatchedLog {
  readonly url: string;
  readonly vkey: string;
  /** The last checkpoint this witness cosigned (the signed note), if any. */
  readonly latest?: string;
}

interface State {
  readonly name: string;
  readonly logs: WatchedLog[];
}

export async function witnessCommand(argv: readonly string[], env: Env, io: Io): Promise<number> {
  const parsed = parseSubcommandArgs(
    argv,
    {
      dir: { type: "string" },
      name: { type: "string" },
      url: { type: "string" },
      vkey: { type: "string" },
      once: { type: "boolean" },
      "interval-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "witness",
    USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const [sub] = positionals as [string, ...string[]];
  const dir = values.dir ?? env.ACCORD_WITNESS_DIR;
  try {
    if (dir === undefined) throw new AccordError("ERR_MALFORMED_INPUT", "`--dir DIR` is needed");
    switch (sub) {
      case "init":
        return init(dir, values.name, io);
      case "add":
        return add(dir, values.url, values.vkey, io);
      case "run": {
        const raw = values["interval-ms"];
        if (raw !== undefined && !/^[1-9][0-9]{2,9}$/.test(raw)) {
          throw new AccordError("ERR_MALFORMED_INPUT", "`--interval-ms` must be 100 or more");
        }
        return await run(dir, values.once === true, raw === undefined ? 900_000 : Number(raw), io);
      }
      default:
        io.err(`accord witness: unknown subcommand \`${sub}\`\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (e) {
    if (!isAccordError(e)) throw e;
    io.err(`accord: ${e.message} [${e.code}]\n`);
    return e.code === "ERR_PEER_UNAVAILABLE" ? EXIT.unavailable : EXIT.invalid;
  }
}

function init(dir: string, name: string | undefined, io: Io): number {
  if (name === undefined || !isKeyName(name)) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      "`--name NAME` is needed: a key name with no space or `+` (e.g. oversight.example/witness)",
    );
  }
  if (existsSync(join(dir, KEY_FILE))) {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${dir}\` already holds a witness key`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync("ed25519");
  atomicWrite(join(dir, KEY_FILE), JSON.stringify(privateKey.export({ format: "jwk" })));
  saveState(dir, { name, logs: [] });
  io.out(`${vkeyOf(name, privateKey)}\n`);
  return EXIT.ok;
}

function add(dir: string, url: string | undefined, vkey: string | undefined, io: Io): number {
  const state = loadState(dir);
  if (url === undefined || vkey === undefined) {
    throw new AccordError("ERR_MALFORMED_INPUT", "`--url URL` and `--vkey VKEY` are needed");
  }
  try {
    new URL(url);
  } catch {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${url}\` is not a URL`);
  }
  const key = logKey(vkey);
  if (state.logs.some((l) => logKey(l.vkey).origin === key.origin)) {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${key.origin}\` is already watched`);
  }
  saveState(dir, { ...state, logs: [...state.logs, { url, vkey }] });
  io.out(`watching ${key.origin} at ${url}\n`);
  return EXIT.ok;
}

/**
 * Passes an unreachable log sits out after `failures` consecutive failures to reach it: 0, 1, 3,
 * 7, then 15. Its retry interval doubles from one pass to 16 (4 hours at the default interval), so
 * a node that is down is not hammered and does not fill the operator's output every pass; the
 * first pass that reaches it again resets the count. Only `run` without `--once` keeps the count.
 */
export function passesToSkip(failures: number): number {
  return failures <= 0 ? 0 : Math.min(2 ** (failures - 1), 16) - 1;
}

/** Consecutive failures to reach each log (by origin) and the passes it still sits out. */
type Backoff = Map<string, { failures: number; skip: number }>;

/**
 * Runs passes until stopped (`once`: one pass, its exit code). `passes` and `sleep` let a test run
 * a fixed number of passes without waiting.
 */
export async function run(
  dir: string,
  once: boolean,
  intervalMs: number,
  io: Io,
  opts: { passes?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<number> {
  const key = loadKey(dir);
  const backoff: Backoff = new Map();
  const sleep = opts.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  for (let n = 1; ; n++) {
    const code = await pass(dir, key, io, backoff);
    if (once || (opts.passes !== undefined && n >= opts.passes)) return code;
    await sleep(intervalMs);
  }
}

/** One pass over every watched log; the worst outcome decides the exit code. */
async function pass(dir: string, key: KeyObject, io: Io, backoff: Backoff): Promise<number> {
  let state = loadState(dir);
  let code: number = EXIT.ok;
  const pub = key.export({ format: "jwk" });
  const signer = { key, keyId: jwkThumbprint({ kty: "OKP", crv: "Ed25519", x: String(pub.x) }) };
  for (const [i, log] of [...state.logs].entries()) {
    const { origin, verifier } = logKey(log.vkey);
    const down = backoff.get(origin);
    if (down !== undefined && down.skip > 0) {
      down.skip--; // still down as far as this witness knows
      if (code === EXIT.ok) code = EXIT.unavailable;
      continue;
    }
    const get = async (path: string): Promise<Uint8Array> => {
      let res: Response;
      try {
        res = await signedFetch(signer, new URL(`/federation/v1/log/${path}`, log.url), {
          method: "GET",
        });
      } catch (e) {
        throw new AccordError("ERR_PEER_UNAVAILABLE", `\`${log.url}\` could not be reached`, {
          cause: e,
        });
      }
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (!res.ok)
        throw new AccordError(
          "ERR_PEER_UNAVAILABLE",
          `\`${origin}\` answered ${String(res.status)} for \`${path}\``,
        );
      return bytes;
    };
    try {
      const note = Buffer.from(await get("checkpoint")).toString("utf8");
      backoff.delete(origin); // reached again
      const seen = log.latest;
      // What this witness vouched for is the only thing that lets it see a rewrite: a saved note
      // that no longer reads as this log's checkpoint (a damaged or edited state file) must stop
      // the log, not be taken as "nothing cosigned yet", which would cosign any history offered.
      if (seen !== undefined && checkpointOf(seen)?.origin !== origin) {
        io.err(
          `ALARM: ${origin} (${log.url}): the checkpoint this witness last cosigned, saved in ${join(dir, STATE_FILE)}, is not a checkpoint of this log; not cosigning until the state is restored\n`,
        );
        code = EXIT.alarm;
        continue;
      }
      const r = await checkOffered({ note, origin, verifiers: [verifier], seen, get });
      if (!r.verdict.consistent) {
        const file = keepEvidence(dir, origin, {
          log: origin,
          url: log.url,
          reason: r.verdict.reason,
          previous: seen ?? "",
          offered: note,
          proof: r.proof.map(encodeBase64),
        });
        io.err(
          `ALARM: ${origin} (${log.url}) offered a checkpoint of ${String(r.next.size)} entries that is not consistent with the one of ${String(r.previousSize)} this witness cosigned (${r.verdict.reason}); not cosigned, evidence in ${file}\n`,
        );
        code = EXIT.alarm;
        continue;
      }
      // Saved before the cosignature leaves: a restarted witness remembers what it vouched for.
      state = {
        ...state,
        logs: state.logs.map((l, k) => (k === i ? { ...l, latest: note } : l)),
      };
      saveState(dir, state);
      const cosigned = addNoteSignatures(note, [
        ed25519Cosigner(state.name, key, () => Math.floor(Date.now() / 1000)),
      ]);
      const res = await signedFetch(signer, new URL("/federation/v1/log/cosignatures", log.url), {
        method: "POST",
        body: cosigned,
        contentType: "text/plain; charset=utf-8",
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
      const answer = await res.text();
      if (!res.ok) {
        io.err(
          `${origin}: cosigned size ${String(r.next.size)} but the node refused it (${String(res.status)}): ${answer.slice(0, 300)}\n`,
        );
        if (code === EXIT.ok) code = EXIT.unavailable;
        continue;
      }
      io.out(`${origin}: cosigned size ${String(r.next.size)} and sent it back\n`);
    } catch (e) {
      if (!isAccordError(e)) throw e;
      let retry = "";
      if (e.code === "ERR_PEER_UNAVAILABLE") {
        const failures = (backoff.get(origin)?.failures ?? 0) + 1;
        const skip = passesToSkip(failures);
        backoff.set(origin, { failures, skip });
        retry =
          skip === 0
            ? ""
            : `; ${String(failures)} passes in a row, next try in ${String(skip + 1)} passes`;
      }
      io.err(`${origin}: ${e.message} [${e.code}]${retry}\n`);
      if (code === EXIT.ok) code = EXIT.unavailable;
    }
  }
  return code;
}

function keepEvidence(dir: string, origin: string, evidence: Record<string, unknown>): string {
  const evidenceDir = join(dir, "evidence");
  mkdirSync(evidenceDir, { recursive: true, mode: 0o700 });
  const file = join(
    evidenceDir,
    `${origin.replace(/[^A-Za-z0-9._-]/g, "_")}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  );
  atomicWrite(file, `${JSON.stringify(evidence, null, 2)}\n`);
  return file;
}

function logKey(vkey: string): { origin: string; verifier: ReturnType<typeof verifierFromKey> } {
  let k;
  try {
    k = parseVerifierKey(vkey);
  } catch (e) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `\`--vkey\` is not a note verifier key: ${(e as Error).message}`,
    );
  }
  if (k.type !== ED25519_TYPE) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      "`--vkey` must be the log's checkpoint key (type 0x01; `accord log vkey` prints it)",
    );
  }
  return { origin: k.name, verifier: verifierFromKey(k) };
}

function vkeyOf(name: string, key: KeyObject): string {
  const x = String(key.export({ format: "jwk" }).x);
  return encodeVerifierKey(name, COSIGNATURE_TYPE, new Uint8Array(Buffer.from(x, "base64url")));
}

function loadKey(dir: string): KeyObject {
  const file = join(dir, KEY_FILE);
  if (!existsSync(file)) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `no witness in \`${dir}\`: run accord witness init`,
    );
  }
  return createPrivateKey({
    key: JSON.parse(readFileSync(file, "utf8")) as Record<string, string>,
    format: "jwk",
  });
}

function loadState(dir: string): State {
  const file = join(dir, STATE_FILE);
  if (!existsSync(file)) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `no witness in \`${dir}\`: run accord witness init`,
    );
  }
  const doc = JSON.parse(readFileSync(file, "utf8")) as State;
  if (typeof doc.name !== "string" || !Array.isArray(doc.logs)) {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${file}\` is not a witness state file`);
  }
  return doc;
}

function saveState(dir: string, state: State): void {
  atomicWrite(join(dir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
}

/** Write temp + fsync + rename (+ fsync of the directory), mode 0600. */
function atomicWrite(file: string, text: string): void {
  const tmp = `${file}.tmp-${String(process.pid)}`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dfd = openSync(join(file, ".."), "r");
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}
