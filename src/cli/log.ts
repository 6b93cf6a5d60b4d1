/**
 * `accord log ...` (spec/log.md, "Tools"): verify a node's Merkle log, prove an entry, read the tail.
 *
 *   accord log verify [--dir DIR]                 this node's own store (either adapter), own key
 *   accord log verify --db FILE [--vkey VKEY]     a node's SQLite database, opened read-only
 *   accord log verify --url URL [--token T | --dir DIR] [--vkey VKEY]
 *                                                 a node over HTTP: tiles and entry bundles from
 *                                                 /api/v1/log (token) or /federation/v1/log (signed
 *                                                 as the partner whose keys are in --dir)
 *       [--state FILE]  remember the last verified checkpoint; the next run checks that the log
 *                       still extends it (consistency with the last checkpoint seen)
 *       [--witness VKEY]... [--min-cosigs N]
 *                       require N (default: all) of these witnesses' cosignatures (C2SP
 *                       tlog-cosignature) on checkpoints whose roots this run recomputed
 *                       (app/witness-quorum.ts)
 *   accord log prove --entry N [--dir DIR]        inclusion proof from the running node, verified
 *                                                 (from its store when it is not running)
 *   accord log tail [--limit N] [--dir DIR]       the newest entries (officers' pseudonyms named;
 *                                                 from the store when the node is not running)
 *   accord log vkey [--dir DIR]                   this node's checkpoint verifier key
 *   accord log digest (--reason T | --legal-basis T | --officer NAME) [--dir DIR]
 *                                                 the keyed digest (or officer pseudonym) the
 *                                                 running node's entries carry for a claimed text
 *
 * Exit codes: 0 intact (and witnessed, with --witness), 4 broken, a bad signature, or too few
 * witness cosignatures, 3 bad input, 5 unreachable, 2 usage, 1 internal.
 *
 * Verification trusts nothing it reads: it recomputes every leaf and tile hash and the root at
 * every checkpoint's size (app/log.ts `verifyLog`), checks signatures, and names the first bad
 * index. The SQLite reader below is independent of the storage adapter on purpose.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseSubcommandArgs, type Env, type Io } from "./args.js";
import Database from "better-sqlite3";
import {
  logOrigin,
  logVerifier,
  proveInclusion,
  storeLogSource,
  verifyLog,
  type LogSource,
  type LogVerdict,
} from "../app/log.js";
import { parseWitnessKeys, witnessStandings, type WitnessStanding } from "../app/witness-quorum.js";
import { encodeLogEntry } from "../core/log-entry.js";
import { AccordError, isAccordError } from "../errors.js";
import { signedFetch } from "../federation/http-peer-client.js";
import { jwkThumbprint } from "../crypto/keys.js";
import {
  ED25519_TYPE,
  TILE_WIDTH,
  decodeBase64,
  decodeEntryBundle,
  encodeVerifierKey,
  leafHash,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
  tilePath,
  tileWidth,
  verifierFromKey,
  verifyInclusion,
  type NoteVerifier,
} from "../tlog/index.js";
import { CONFIG_FILE, loadConfig } from "./config.js";
import { openStore } from "./compose.js";
import { loadApiToken, loadNodeKeys } from "./secrets.js";
import { ApiClient } from "./api-client.js";

const EXIT = { ok: 0, usage: 2, invalid: 3, refused: 4, unavailable: 5, internal: 1 } as const;

const USAGE = `Usage:
  accord log verify [--dir DIR] [--db FILE | --url URL [--token T]] [--vkey VKEY] [--state FILE]
                    [--witness VKEY]... [--min-cosigs N]
  accord log prove --entry N [--dir DIR]
  accord log tail [--limit N] [--dir DIR]
  accord log vkey [--dir DIR]
  accord log digest (--reason TEXT | --legal-basis TEXT | --officer NAME) [--dir DIR]

Exit codes: 0 intact (and witnessed), 4 broken, bad signature or too few witness cosignatures,
3 bad input, 5 unreachable, 2 usage.
`;

export async function logCommand(argv: readonly string[], env: Env, io: Io): Promise<number> {
  const parsed = parseSubcommandArgs(
    argv,
    {
      dir: { type: "string" },
      db: { type: "string" },
      url: { type: "string" },
      token: { type: "string" },
      vkey: { type: "string" },
      witness: { type: "string", multiple: true },
      "min-cosigs": { type: "string" },
      state: { type: "string" },
      entry: { type: "string" },
      limit: { type: "string" },
      reason: { type: "string" },
      "legal-basis": { type: "string" },
      officer: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    "log",
    USAGE,
    io,
  );
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const json = values.json === true;
  const print = (human: string, doc: unknown): void => {
    io.out(json ? `${JSON.stringify(doc, null, 2)}\n` : `${human.replace(/\n$/, "")}\n`);
  };
  const dir = values.dir ?? env.ACCORD_DIR ?? ".";
  const [sub] = positionals as [string, ...string[]];
  try {
    switch (sub) {
      case "verify":
        return await verify(dir, env, values, print);
      case "prove":
        return await prove(dir, env, values.entry, print);
      case "tail":
        return await tail(dir, env, values.limit, print);
      case "digest":
        return await digest(dir, env, values, print);
      case "vkey": {
        const { vkey } = ownKey(dir, env);
        print(vkey, { vkey });
        return EXIT.ok;
      }
      default:
        io.err(`accord log: unknown subcommand \`${sub}\`\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (e) {
    if (!isAccordError(e)) throw e;
    if (json)
      io.out(`${JSON.stringify({ error: { code: e.code, message: e.message } }, null, 2)}\n`);
    else io.err(`accord: ${e.message} [${e.code}]\n`);
    return e.code === "ERR_PEER_UNAVAILABLE"
      ? EXIT.unavailable
      : e.code === "ERR_SIGNATURE_INVALID" || e.code === "ERR_UNAUTHENTICATED"
        ? EXIT.refused
        : e.code === "ERR_STORAGE" || e.code === "ERR_INTERNAL"
          ? EXIT.internal
          : EXIT.invalid;
  }
}

/** This node's checkpoint verifier and vkey, from the keys in `dir`. */
function ownKey(
  dir: string,
  env: Env,
): { verifier: NoteVerifier; origin: string; vkey: string; fingerprint: string; raw: Uint8Array } {
  const config = loadConfig(dir, env);
  const keys = loadNodeKeys(config.keysFile);
  const raw = rawEd25519(keys.signing.publicJwk.x);
  const origin = logOrigin(config.nodeId);
  return {
    verifier: logVerifier(config.nodeId, raw),
    origin,
    vkey: encodeVerifierKey(origin, ED25519_TYPE, raw),
    fingerprint: jwkThumbprint(keys.signing.publicJwk),
    raw,
  };
}

/**
 * The public keys a log's checkpoints may be signed with, by fingerprint (spec/log.md, "Key
 * events"): which one a checkpoint needs is decided by the log's own key events, not here. Each
 * key is checked to have the fingerprint it is listed under.
 */
function historyOf(
  records: readonly { fingerprint: string; signingKey: Readonly<Record<string, unknown>> }[],
  current: string,
  currentRaw?: Uint8Array,
): { keys: Map<string, Uint8Array>; current: string } {
  const keys = new Map<string, Uint8Array>();
  if (currentRaw !== undefined) keys.set(current, currentRaw);
  for (const r of records) {
    const x = r.signingKey.x;
    if (typeof x !== "string") continue;
    if (jwkThumbprint({ kty: "OKP", crv: "Ed25519", x }) !== r.fingerprint) continue;
    keys.set(r.fingerprint, rawEd25519(x));
  }
  return { keys, current };
}

function rawEd25519(x: string): Uint8Array {
  return new Uint8Array(Buffer.from(x, "base64url"));
}

function keyFromVkey(vkey: string): { verifier: NoteVerifier; origin: string } {
  const k = parseVerifierKey(vkey);
  return { verifier: verifierFromKey(k), origin: k.name };
}

interface Values {
  readonly db?: string | undefined;
  readonly url?: string | undefined;
  readonly token?: string | undefined;
  readonly vkey?: string | undefined;
  readonly state?: string | undefined;
  readonly witness?: readonly string[] | undefined;
  readonly "min-cosigs"?: string | undefined;
}

/** `--witness VKEY...` and `--min-cosigs N` (default: all of them), checked before any reading. */
function quorumOf(values: Values): { witnesses: NoteVerifier[]; min: number } | undefined {
  const vkeys = values.witness ?? [];
  const minFlag = values["min-cosigs"];
  if (vkeys.length === 0) {
    if (minFlag !== undefined)
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        "`--min-cosigs` needs at least one `--witness VKEY`",
      );
    return undefined;
  }
  const witnesses = parseWitnessKeys(vkeys);
  const min = minFlag === undefined ? witnesses.length : Number(minFlag);
  if (minFlag !== undefined && !/^[1-9][0-9]{0,5}$/.test(minFlag)) {
    throw new AccordError("ERR_MALFORMED_INPUT", "`--min-cosigs` must be a positive integer");
  }
  if (min > witnesses.length) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `\`--min-cosigs ${String(min)}\` asks for more cosignatures than the ${String(witnesses.length)} distinct witness key(s) given`,
    );
  }
  return { witnesses, min };
}

/** Signed checkpoints with the cosignature lines stored for their size appended. */
function appendLines(note: string, lines: readonly string[]): string {
  return note + lines.map((l) => `${l}\n`).join("");
}

async function verify(
  dir: string,
  env: Env,
  values: Values,
  print: (human: string, doc: unknown) => void,
): Promise<number> {
  const quorum = quorumOf(values);
  const known =
    values.state !== undefined && existsSync(values.state) ? [readState(values.state)] : [];
  // With --witness: the checkpoints that carry cosignatures (the latest with its own, and each
  // witness's largest cosigned one), checked like the others, then counted.
  let cosigned: string[] = [];
  let verdict: LogVerdict;
  let latest: string | undefined;
  let where: string;
  if (values.db !== undefined) {
    where = values.db;
    const key = values.vkey !== undefined ? keyFromVkey(values.vkey) : maybeOwnKey(dir, env);
    const { source, checkpoints, nodeKeys, cosignatureLines, close } = sqliteSource(values.db);
    try {
      latest = checkpoints.at(-1);
      if (quorum !== undefined) {
        const bySize = new Map(checkpoints.map((n) => [sizeOfNote(n), n] as const));
        const sizes = new Set([...cosignatureLines.keys()]);
        if (latest !== undefined) sizes.add(sizeOfNote(latest));
        cosigned = [...sizes].flatMap((size) => {
          const note = bySize.get(size);
          return note === undefined ? [] : [appendLines(note, cosignatureLines.get(size) ?? [])];
        });
      }
      const current = nodeKeys.find((k) => k.status === "current");
      // With the database's key history (migration 8), each checkpoint is checked against the
      // key its size needs; without it, against the one key given.
      const keyHistory =
        current === undefined || key.origin === undefined
          ? undefined
          : historyOf(nodeKeys, current.fingerprint);
      verdict = await verifyLog(source, {
        checkpoints: [...checkpoints, ...cosigned, ...known],
        ...key,
        ...(keyHistory === undefined ? {} : { keyHistory }),
      });
    } finally {
      close();
    }
  } else if (values.url !== undefined) {
    where = values.url;
    const remote = await openRemoteLog(values.url, dir, env, values);
    latest = remote.checkpoint;
    if (quorum !== undefined) {
      const doc = JSON.parse(
        Buffer.from(await remote.get("checkpoints/cosigned")).toString("utf8"),
      ) as { checkpoints?: unknown };
      const served = Array.isArray(doc.checkpoints) ? doc.checkpoints : [];
      // A witness may have cosigned a checkpoint issued after the one this run verifies up to.
      cosigned = [
        remote.checkpoint,
        ...served.flatMap((c: unknown) => {
          const note = (c as { note?: unknown } | null)?.note;
          return typeof note === "string" && sizeOfNote(note) <= remote.source.size ? [note] : [];
        }),
      ];
    }
    verdict = await verifyLog(remote.source, {
      checkpoints: [remote.checkpoint, ...cosigned, ...known],
      origin: remote.origin,
      verifier: remote.verifier,
      ...(remote.keyHistory === undefined ? {} : { keyHistory: remote.keyHistory }),
    });
  } else {
    const config = loadConfig(dir, env);
    where = `${config.nodeId}'s store`;
    const key = ownKey(dir, env);
    const store = await openStore(config);
    try {
      const source = await storeLogSource(store.ledger);
      const stored = await store.ledger.checkpoints(0, 1_000_000);
      const notes = stored.map((c) => c.note);
      latest = notes.at(-1);
      if (quorum !== undefined) {
        const sizes = new Set((await store.ledger.latestCosignatures()).map((c) => c.size));
        const last = stored.at(-1);
        if (last !== undefined) sizes.add(last.size);
        for (const c of stored) {
          if (!sizes.has(c.size)) continue;
          const lines = (await store.ledger.cosignatures(c.size)).map((l) => l.line);
          cosigned.push(appendLines(c.note, lines));
        }
      }
      // The key history: every key this node has had (public halves), the current one from its file.
      const keyHistory = historyOf(await store.keys.keys(), key.fingerprint, key.raw);
      verdict = await verifyLog(source, {
        checkpoints: [...notes, ...cosigned, ...known],
        origin: key.origin,
        keyHistory,
      });
    } finally {
      await store.close();
    }
  }
  if (verdict.ok && values.state !== undefined && latest !== undefined) {
    writeFileSync(values.state, latest, { mode: 0o600 });
  }
  const unsigned = verdict.signaturesChecked ? "" : " (checkpoint signatures NOT checked: no key)";
  const head = verdict.ok
    ? `log intact: ${String(verdict.entries)} entries, root ${verdict.root}, ${String(verdict.checkpoints)} checkpoints${unsigned} (${where})`
    : `log BROKEN${verdict.firstBad === undefined ? "" : ` at entry ${String(verdict.firstBad)}`}: ${verdict.problem ?? ""} (${where})`;
  // Cosignatures count only over checkpoints whose roots this run reproduced: not on a broken log.
  if (quorum === undefined || !verdict.ok) {
    print(head, verdict);
    return verdict.ok ? EXIT.ok : EXIT.refused;
  }
  const standings = witnessStandings(cosigned, quorum.witnesses);
  const count = standings.filter((s) => s.status === "cosigned").length;
  const enough = count >= quorum.min;
  const witnesses = { required: quorum.min, cosigned: count, standings };
  print(
    [
      enough
        ? head
        : `log intact but NOT WITNESSED: ${String(count)} of ${String(quorum.min)} required witness cosignatures (${where})`,
      ...standings.map((s) => `  ${s.witness}: ${describeStanding(s, verdict.size)}`),
    ].join("\n"),
    { ...verdict, ok: enough, witnesses },
  );
  return enough ? EXIT.ok : EXIT.refused;
}

function describeStanding(s: WitnessStanding, size: number): string {
  if (s.status === "missing") return "MISSING: no cosignature on the checkpoints checked";
  if (s.status === "invalid") return "INVALID: a cosignature of its key does not verify";
  const at = s.time === undefined ? "" : ` at ${new Date(s.time * 1000).toISOString()}`;
  return s.latest === true && s.size === size
    ? `cosigned the latest checkpoint (size ${String(s.size)})${at}`
    : `cosigned size ${String(s.size ?? 0)} of ${String(size)}${at} (entries after it not yet witnessed)`;
}

function sizeOfNote(note: string): number {
  try {
    return parseCheckpoint(note.slice(0, note.indexOf("\n\n") + 1)).size;
  } catch (e) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `a checkpoint does not parse: ${(e as Error).message}`,
    );
  }
}

function maybeOwnKey(dir: string, env: Env): { verifier?: NoteVerifier; origin?: string } {
  if (!existsSync(join(dir, CONFIG_FILE))) return {};
  const { verifier, origin } = ownKey(dir, env);
  return { verifier, origin };
}

function readState(file: string): string {
  return readFileSync(file, "utf8");
}

/** A read-only view of a node's SQLite database (tables of migration 2). */
function sqliteSource(file: string): {
  source: LogSource;
  checkpoints: string[];
  nodeKeys: { fingerprint: string; status: string; signingKey: Record<string, unknown> }[];
  cosignatureLines: Map<number, string[]>;
  close: () => void;
} {
  if (!existsSync(file)) throw new AccordError("ERR_MALFORMED_INPUT", `no file \`${file}\``);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${file}\` is not a SQLite database`, {
      cause: e,
    });
  }
  try {
    const state = db
      .prepare<[], { size: number; frontier: Buffer }>("SELECT size, frontier FROM log_state")
      .get();
    if (state === undefined) throw new Error("no log state");
    const frontier: Uint8Array[] = [];
    for (let o = 0; o + 32 <= state.frontier.length; o += 32) {
      frontier.push(new Uint8Array(state.frontier.subarray(o, o + 32)));
    }
    const rows = db.prepare<[number, number], { idx: number; entry: string }>(
      "SELECT idx, entry FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?",
    );
    const tile = db.prepare<[number, number], { hashes: Buffer }>(
      "SELECT hashes FROM log_tiles WHERE level = ? AND idx = ?",
    );
    const checkpoints = db
      .prepare<[], { note: string }>("SELECT note FROM log_checkpoints ORDER BY size")
      .all()
      .map((r) => r.note);
    const hasKeys =
      db
        .prepare<[], { n: number }>(
          "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'node_keys'",
        )
        .get()?.n === 1;
    const nodeKeys = hasKeys
      ? db
          .prepare<[], { fingerprint: string; status: string; signing_key: string }>(
            "SELECT fingerprint, status, signing_key FROM node_keys",
          )
          .all()
          .map((r) => ({
            fingerprint: r.fingerprint,
            status: r.status,
            signingKey: JSON.parse(r.signing_key) as Record<string, unknown>,
          }))
      : [];
    const hasCosignatures =
      db
        .prepare<[], { n: number }>(
          "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'log_cosignatures'",
        )
        .get()?.n === 1;
    // Migration 14: the witnesses' cosignature lines, by checkpoint size.
    const cosignatureLines = new Map<number, string[]>();
    if (hasCosignatures) {
      for (const r of db
        .prepare<[], { size: number; line: string }>(
          "SELECT size, line FROM log_cosignatures ORDER BY size, witness, key_id",
        )
        .all()) {
        const list = cosignatureLines.get(r.size) ?? [];
        list.push(r.line);
        cosignatureLines.set(r.size, list);
      }
    }
    const utf8 = new TextEncoder();
    return {
      nodeKeys,
      cosignatureLines,
      source: {
        size: state.size,
        frontier,
        entries: (from, count) =>
          Promise.resolve(
            rows.all(from, count).map((r) => ({ seq: r.idx, bytes: utf8.encode(r.entry) })),
          ),
        tile: (level, index) =>
          Promise.resolve(new Uint8Array(tile.get(level, index)?.hashes ?? Buffer.alloc(0))),
      },
      checkpoints,
      close: () => db.close(),
    };
  } catch (e) {
    db.close();
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `\`${file}\` does not hold an Accord log (migration 2): ${(e as Error).message}`,
    );
  }
}

/** A node's log over HTTP: its checkpoint, then tiles and bundles at the checkpoint's size. */
export async function openRemoteLog(
  url: string,
  dir: string,
  env: Env,
  values: Values,
): Promise<{
  source: LogSource;
  checkpoint: string;
  origin: string;
  verifier: NoteVerifier;
  keyHistory?: { keys: Map<string, Uint8Array>; current: string };
  /** Reads another path of the same log, the same way (token or signed request). */
  get: (path: string) => Promise<Uint8Array>;
}> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new AccordError("ERR_MALFORMED_INPUT", `\`${url}\` is not a URL`);
  }
  const token = values.token ?? env.ACCORD_LOG_TOKEN;
  let get: (path: string) => Promise<Uint8Array>;
  if (token !== undefined) {
    get = (path) =>
      fetchBytes(new URL(`/api/v1/log/${path}`, base), { authorization: `Bearer ${token}` });
  } else {
    // As a partner: the request is signed with the node keys in --dir (RFC 9421).
    const config = loadConfig(dir, env);
    const keys = loadNodeKeys(config.keysFile);
    const signer = { key: keys.signing.privateKey, keyId: jwkThumbprint(keys.signing.publicJwk) };
    get = async (path) => {
      const res = await signedFetch(signer, new URL(`/federation/v1/log/${path}`, base), {
        method: "GET",
      });
      return readBody(res, path);
    };
  }
  // Whose log: the vkey given, or the node's self-signed descriptor (trust on first use).
  let key: { verifier: NoteVerifier; origin: string };
  let keyHistory: { keys: Map<string, Uint8Array>; current: string } | undefined;
  if (values.vkey !== undefined) key = keyFromVkey(values.vkey);
  else {
    const desc = JSON.parse(
      Buffer.from(await fetchBytes(new URL("/.well-known/accord-node", base), {})).toString("utf8"),
    ) as {
      node_id?: unknown;
      keys?: { signing?: { x?: unknown } };
      key_history?: unknown;
    };
    const x = desc.keys?.signing?.x;
    if (typeof desc.node_id !== "string" || typeof x !== "string") {
      throw new AccordError("ERR_MALFORMED_INPUT", "the node descriptor names no signing key");
    }
    key = { verifier: logVerifier(desc.node_id, rawEd25519(x)), origin: logOrigin(desc.node_id) };
    // The descriptor's key history (every signing key the node has had) lets checkpoints signed
    // before a rotation verify; which key each needs still comes from the log's own entries.
    const history = Array.isArray(desc.key_history)
      ? (desc.key_history as unknown[]).flatMap((h) =>
          typeof h === "object" &&
          h !== null &&
          typeof (h as { fingerprint?: unknown }).fingerprint === "string" &&
          typeof (h as { signing?: unknown }).signing === "object"
            ? [h as { fingerprint: string; signingKey: Record<string, unknown> }].map((r) => ({
                fingerprint: r.fingerprint,
                signingKey: (h as { signing: Record<string, unknown> }).signing,
              }))
            : [],
        )
      : [];
    keyHistory = historyOf(
      history,
      jwkThumbprint({ kty: "OKP", crv: "Ed25519", x }),
      rawEd25519(x),
    );
  }
  const checkpoint = Buffer.from(await get("checkpoint")).toString("utf8");
  const size = openCheckpoint(checkpoint, { origin: key.origin, log: key.verifier }).checkpoint
    .size;
  const source: LogSource = {
    size,
    entries: async (from, count) => {
      if (from >= size) return [];
      const index = Math.floor(from / TILE_WIDTH);
      const width = Math.min(TILE_WIDTH, size - index * TILE_WIDTH);
      const bundle = await get(tilePath({ level: "entries", index, width }));
      const all = decodeEntryBundle(bundle, width).map((bytes, k) => ({
        seq: index * TILE_WIDTH + k,
        bytes,
      }));
      return all.filter((e) => e.seq >= from).slice(0, count);
    },
    tile: async (level, index) => {
      const width = tileWidth(level, index, size);
      if (width === 0) return new Uint8Array(0);
      return get(tilePath({ level, index, width }));
    },
  };
  return {
    source,
    checkpoint,
    get,
    ...key,
    ...(keyHistory === undefined ? {} : { keyHistory }),
  };
}

async function fetchBytes(url: URL, headers: Record<string, string>): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { headers, redirect: "error", signal: AbortSignal.timeout(30_000) });
  } catch (e) {
    throw new AccordError("ERR_PEER_UNAVAILABLE", `\`${url.origin}\` could not be reached`, {
      cause: e,
    });
  }
  return readBody(res, url.pathname);
}

async function readBody(res: Response, what: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (res.status === 401 || res.status === 403) {
    throw new AccordError("ERR_UNAUTHENTICATED", `the node refused to serve \`${what}\``);
  }
  if (!res.ok) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the node answered ${String(res.status)} for \`${what}\``,
    );
  }
  return bytes;
}

async function apiGet(dir: string, env: Env, path: string): Promise<Uint8Array> {
  const config = loadConfig(dir, env);
  const token = loadApiToken(config.apiTokenFile);
  return fetchBytes(new URL(`/api/v1/${path}`, config.publicUrl), {
    authorization: `Bearer ${token}`,
  });
}

interface LoggedRow {
  seq: number;
  at: string;
  kind: string;
  data: Record<string, unknown>;
}

/**
 * Reads from the running node (its API, the way an operator's tools do) or, when the node in
 * `dir` cannot be reached because it is not running, from its store directly: a stopped node's
 * log (the demo's databases, a node being inspected) is still the operator's to read.
 */
async function whenStopped<T>(
  running: () => Promise<T>,
  stopped: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
  dir: string,
  env: Env,
): Promise<T> {
  try {
    return await running();
  } catch (e) {
    if (!isAccordError(e) || e.code !== "ERR_PEER_UNAVAILABLE") throw e;
  }
  const store = await openStore(loadConfig(dir, env));
  try {
    return await stopped(store);
  } finally {
    await store.close();
  }
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
const jsonOf = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes).toString("utf8")) as T;

async function prove(
  dir: string,
  env: Env,
  entryFlag: string | undefined,
  print: (human: string, doc: unknown) => void,
): Promise<number> {
  if (entryFlag === undefined || !/^(0|[1-9][0-9]{0,15})$/.test(entryFlag)) {
    throw new AccordError("ERR_MALFORMED_INPUT", "`--entry N` needs a non-negative integer");
  }
  const index = Number(entryFlag);
  const key = ownKey(dir, env);
  const { note, proof, entry, stored } = await whenStopped(
    async () => {
      const note = Buffer.from(await apiGet(dir, env, "log/checkpoint")).toString("utf8");
      const { size } = openCheckpoint(note, { origin: key.origin, log: key.verifier }).checkpoint;
      const proof = jsonOf<{ proof: string[] }>(
        await apiGet(dir, env, `log/proof/inclusion?index=${String(index)}&size=${String(size)}`),
      ).proof;
      const [entry] = jsonOf<{ entries: LoggedRow[] }>(
        await apiGet(dir, env, `ledger?from=${String(index)}&limit=1`),
      ).entries;
      return { note, proof, entry, stored: false };
    },
    // The node is not running: the same proof from its store, against its latest signed
    // checkpoint (a stopped node signs none; an entry after it cannot be proven yet).
    async (store) => {
      const last = await store.ledger.latestCheckpoint();
      if (last === undefined || index >= last.size)
        throw new AccordError(
          "ERR_NOT_FOUND",
          `entry ${String(index)} is not under a signed checkpoint of the stopped node (${last === undefined ? "none signed yet" : `the latest covers entries 0..${String(last.size - 1)}`}): start it (\`accord node start\`) and it signs one on request`,
        );
      const p = await proveInclusion(store.ledger, index, last.size);
      const [entry] = await store.ledger.list(index, 1);
      return {
        note: last.note,
        proof: p.proof.map((h) => Buffer.from(h).toString("base64")),
        entry,
        stored: true,
      };
    },
    dir,
    env,
  );
  const cp = openCheckpoint(note, { origin: key.origin, log: key.verifier }).checkpoint;
  if (entry?.seq !== index) throw new AccordError("ERR_NOT_FOUND", `no entry ${String(index)}`);
  const leaf = leafHash(encodeLogEntry(entry));
  const path = proof.map((p) => decodeBase64(p) ?? new Uint8Array(0));
  const ok = verifyInclusion(index, cp.size, leaf, path, cp.rootHash);
  const doc = {
    ok,
    index,
    size: cp.size,
    root: Buffer.from(cp.rootHash).toString("base64"),
    leafHash: Buffer.from(leaf).toString("base64"),
    proof,
    entry,
    checkpoint: note,
    ...(stored ? { from: "store" } : {}),
  };
  print(
    ok
      ? `entry ${String(index)} (${entry.kind}, ${entry.at}) is in the log of ${String(cp.size)} entries signed by ${key.origin}${stored ? " (read from the store: the node is not running)" : ""}\nleaf ${doc.leafHash}\nproof (${String(path.length)} hashes):\n${proof.map((p) => `  ${p}`).join("\n")}`
      : `entry ${String(index)}: the proof does NOT verify against the signed checkpoint`,
    doc,
  );
  return ok ? EXIT.ok : EXIT.refused;
}

async function tail(
  dir: string,
  env: Env,
  limitFlag: string | undefined,
  print: (human: string, doc: unknown) => void,
): Promise<number> {
  const limit = limitFlag === undefined ? 20 : Number(limitFlag);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw new AccordError("ERR_MALFORMED_INPUT", "`--limit` must be 1..1000");
  }
  const { size, r, stored } = await whenStopped(
    async () => {
      const { size } = jsonOf<{ size: number }>(await apiGet(dir, env, "ledger?from=0&limit=1"));
      const from = Math.max(0, size - limit);
      const r = jsonOf<{ entries: LoggedRow[]; officers?: Record<string, string> }>(
        await apiGet(dir, env, `ledger?from=${String(from)}&limit=${String(limit)}`),
      );
      return { size, r, stored: false };
    },
    // The node is not running: the same entries from its store (officers stay pseudonyms).
    async (store) => {
      const size = await store.ledger.size();
      const entries = await store.ledger.list(Math.max(0, size - limit), limit);
      return { size, r: { entries, officers: {} }, stored: true };
    },
    dir,
    env,
  );
  const officers = r.officers ?? {};
  // The entry as logged, then the name of the officer its pseudonym stands for (this node's own
  // accord.yaml resolves it; a partner reading the log sees the pseudonym only).
  const named = (data: Record<string, unknown>): string => {
    const p = data.officerPseudonym;
    const name = typeof p === "string" ? officers[p] : undefined;
    return name === undefined ? "" : `\tofficer: ${name}`;
  };
  print(
    r.entries
      .map((e) => `${String(e.seq)}\t${e.at}\t${e.kind}\t${JSON.stringify(e.data)}${named(e.data)}`)
      .join("\n") || "the log is empty",
    { size, entries: r.entries, officers, ...(stored ? { from: "store" } : {}) },
  );
  return EXIT.ok;
}

/**
 * The keyed digest the running node's log carries for a text (a recall's reason, a request's
 * legal basis) or the pseudonym of an officer's name: computed by the node on an authenticated
 * request, so an oversight body can check a claimed text against an entry without the key ever
 * leaving the node (spec/log.md "Keyed digests").
 */
async function digest(
  dir: string,
  env: Env,
  values: { reason?: string; "legal-basis"?: string; officer?: string },
  print: (human: string, doc: unknown) => void,
): Promise<number> {
  const given = (
    [
      ["recall-reason", values.reason],
      ["legal-basis", values["legal-basis"]],
      ["officer", values.officer],
    ] as const
  ).filter(([, v]) => v !== undefined);
  const [one] = given;
  if (one === undefined || given.length > 1)
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      "`accord log digest` takes exactly one of `--reason TEXT`, `--legal-basis TEXT`, `--officer NAME`",
    );
  const [purpose, text] = one;
  const r = await ApiClient.forConfig(loadConfig(dir, env)).call<{ value: string }>(
    "POST",
    "/log/digest",
    { json: { purpose, text } },
  );
  print(
    `${r.value}\t${purpose === "officer" ? "officerPseudonym" : purpose === "legal-basis" ? "legalBasisHmac" : "reasonHmac"}`,
    { purpose, value: r.value },
  );
  return EXIT.ok;
}
