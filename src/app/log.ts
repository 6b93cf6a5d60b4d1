/**
 * The node's transparency log as use cases see it (spec/log.md): tree heads, signed checkpoints,
 * inclusion and consistency proofs from stored tiles, and full verification.
 *
 * Proofs and past roots read only stored tiles (C2SP tlog-tiles): a proof names its perfect
 * subtree nodes (`inclusionPlan`, `consistencyPlan`), the tiles holding them are read once each,
 * and nodes between tile levels are hashed from their tile's hashes. Nothing reads every leaf.
 *
 * `verifyLog` is the opposite: it trusts nothing stored. It reads every entry, recomputes every
 * leaf hash and every tile hash and compares them with what is stored, recomputes the root at
 * every checkpoint's size and checks each checkpoint's signature, and names the first index where
 * the stored log stops being what its entries and its signed checkpoints say. The same code
 * verifies a node's database (`LedgerRepo` as a source) and a node over HTTP (tiles and entry
 * bundles as a source, src/cli/log.ts).
 */
import type { KeyObject } from "node:crypto";
import { decodeLogEntry } from "../core/log-entry.js";
import { AccordError } from "../errors.js";
import {
  CompactTree,
  TILE_WIDTH,
  assembleProof,
  consistencyPlan,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  equalBytes,
  inclusionPlan,
  leafHash,
  nodeFromTile,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  tileOfNode,
  tileWidth,
  type NodeId,
  type NoteSigner,
  type NoteVerifier,
} from "../tlog/index.js";
import type { LedgerRepo, StoredCheckpoint } from "./ports.js";

const HASH = 32;

/** The origin line of a node's checkpoints, also the name of its note key (spec/log.md). */
export function logOrigin(nodeId: string): string {
  return `accord.log/${nodeId}`;
}

/** The node's checkpoint signer: its Ed25519 signing key under the log's origin. */
export function logSigner(nodeId: string, signingKey: KeyObject): NoteSigner {
  return ed25519NoteSigner(logOrigin(nodeId), signingKey);
}

/** The verifier of a node's checkpoints from its 32-byte Ed25519 public key. */
export function logVerifier(nodeId: string, publicKey: Uint8Array): NoteVerifier {
  return ed25519NoteVerifier(logOrigin(nodeId), publicKey);
}

/** The tree head from the stored frontier (what integration maintains). */
export async function logHead(ledger: LedgerRepo): Promise<{ size: number; rootHash: Uint8Array }> {
  const { size, frontier } = await ledger.state();
  return { size, rootHash: CompactTree.restore(size, frontier).root() };
}

/**
 * The latest checkpoint, signing and storing a new one first when the tree has grown since the
 * last (checkpoints are issued on demand: spec/log.md, "Checkpoints").
 */
export async function currentCheckpoint(
  ledger: LedgerRepo,
  signer: NoteSigner,
  origin: string,
  at: string,
): Promise<StoredCheckpoint> {
  const latest = await ledger.latestCheckpoint();
  const head = await logHead(ledger);
  if (latest !== undefined && latest.size >= head.size) return latest;
  const note = signCheckpoint(
    { origin, size: head.size, rootHash: head.rootHash, extensions: [] },
    [signer],
  );
  const c = { size: head.size, note, createdAt: at };
  await ledger.putCheckpoint(c);
  return c;
}

/** Reads the hashes of `nodes` (perfect subtrees of the tree of `size`) from stored tiles. */
async function readNodes(
  ledger: LedgerRepo,
  nodes: readonly NodeId[],
  size: number,
): Promise<Uint8Array[]> {
  const tiles = new Map<string, Uint8Array>();
  const out: Uint8Array[] = [];
  for (const n of nodes) {
    const where = tileOfNode(n.level, n.index);
    const key = `${String(where.tileLevel)}/${String(where.tileIndex)}`;
    let tile = tiles.get(key);
    if (tile === undefined) {
      tile = await ledger.tile(where.tileLevel, where.tileIndex);
      tiles.set(key, tile);
    }
    if (tile.length < (where.offset + where.count) * HASH) {
      throw new AccordError(
        "ERR_STORAGE",
        `log tile ${key} is shorter than the tree of ${String(size)} entries needs; run \`accord log verify\``,
      );
    }
    out.push(nodeFromTile(tile, where));
  }
  return out;
}

function checkSize(size: number, treeSize: number): void {
  if (!Number.isSafeInteger(size) || size < 1 || size > treeSize) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the tree size must be 1..${String(treeSize)} (the log's size), got ${String(size)}`,
    );
  }
}

/** The root of the tree of the first `size` entries, from stored tiles. */
export async function logRootAt(ledger: LedgerRepo, size: number): Promise<Uint8Array> {
  const { size: treeSize } = await ledger.state();
  checkSize(size, treeSize);
  const nodes: NodeId[] = [];
  let at = 0;
  let rest = size;
  while (rest > 0) {
    let level = 0;
    while (2 ** (level + 1) <= rest) level++;
    const width = 2 ** level;
    nodes.push({ level, index: at / width });
    at += width;
    rest -= width;
  }
  const hashes = await readNodes(ledger, nodes, size);
  const [root] = assembleProof({ nodes, groups: [nodes.length] }, hashes);
  if (root === undefined) throw new Error("unreachable: a non-empty tree has a root");
  return root;
}

/** The inclusion proof of entry `index` in the tree of `size` entries (default: the current). */
export async function proveInclusion(
  ledger: LedgerRepo,
  index: number,
  size?: number,
): Promise<{ index: number; size: number; leafHash: Uint8Array; proof: Uint8Array[] }> {
  const { size: treeSize } = await ledger.state();
  const n = size ?? treeSize;
  checkSize(n, treeSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= n) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the entry index must be 0..${String(n - 1)}, got ${String(index)}`,
    );
  }
  const plan = inclusionPlan(index, n);
  const proof = assembleProof(plan, await readNodes(ledger, plan.nodes, n));
  const [leaf] = await readNodes(ledger, [{ level: 0, index }], n);
  if (leaf === undefined) throw new Error("unreachable");
  return { index, size: n, leafHash: leaf, proof };
}

/** The consistency proof from size `m` to size `n` (default: the current), 0 < m <= n. */
export async function proveConsistency(
  ledger: LedgerRepo,
  m: number,
  n?: number,
): Promise<{ from: number; to: number; proof: Uint8Array[] }> {
  const { size: treeSize } = await ledger.state();
  const to = n ?? treeSize;
  checkSize(to, treeSize);
  checkSize(m, to);
  const plan = consistencyPlan(m, to);
  return { from: m, to, proof: assembleProof(plan, await readNodes(ledger, plan.nodes, to)) };
}

// ---------------------------------------------------------------- verification

/** Where `verifyLog` reads a log from: a node's store, or its tiles over HTTP. */
export interface LogSource {
  /** The size the source claims (the stored state, or the checkpoint's). */
  readonly size: number;
  /** Entry rows with seq >= from, ascending, at most `count` (rows may be missing or extra). */
  entries(from: number, count: number): Promise<{ seq: number; bytes: Uint8Array }[]>;
  /** The stored hashes of a tile (may hold more than the claimed size needs). */
  tile(level: number, index: number): Promise<Uint8Array>;
  /** The stored frontier, when the source has one (a database). */
  readonly frontier?: readonly Uint8Array[];
}

export interface LogVerdict {
  readonly ok: boolean;
  /** Entries read and checked. */
  readonly entries: number;
  /** The size the source claims. */
  readonly size: number;
  /** Hex root recomputed from the entries. */
  readonly root: string;
  /** Checkpoints whose signature and root were checked. */
  readonly checkpoints: number;
  /** The first index at which the log is not what it should be; absent when ok. */
  readonly firstBad?: number;
  /** What was wrong, in words. */
  readonly problem?: string;
  /** False when no key was given, so checkpoint signatures were not checked. */
  readonly signaturesChecked: boolean;
}

export interface VerifyOptions {
  /** Signed checkpoints to check (the node's own, a remembered one, a partner's copy). */
  readonly checkpoints?: readonly string[];
  readonly origin?: string;
  /** The log's checkpoint key; without it signatures are not checked (the verdict says so). */
  readonly verifier?: NoteVerifier;
  /** Cosigners whose signatures must verify where present. */
  readonly cosigners?: readonly NoteVerifier[];
  /**
   * Follow the log's key history (spec/log.md, "Key events"): each checkpoint must be signed by
   * the key the log's own `key-rotated` / `key-revoked` entries name for its size, looked up here
   * by fingerprint (raw 32-byte Ed25519 public keys). `current` is the key of a log without key
   * events. Needs `origin`; takes the place of `verifier`.
   */
  readonly keyHistory?: {
    readonly keys: ReadonlyMap<string, Uint8Array>;
    readonly current: string;
  };
}

class Bad extends Error {
  constructor(
    readonly index: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Recomputes the whole log from its entries and checks tiles, state and checkpoints. */
export async function verifyLog(
  source: LogSource,
  options: VerifyOptions = {},
): Promise<LogVerdict> {
  const tree = new CompactTree();
  let checked = 0;
  const history = options.origin === undefined ? undefined : options.keyHistory;
  const signaturesChecked =
    (options.verifier !== undefined || history !== undefined) && options.origin !== undefined;
  // Key history: the key each checkpoint needs is known once the entries before its size are
  // read, so its signature is checked after the scan (its root is checked during it).
  const keyEvents: { new: string; previous: string }[] = [];
  const epochOf: { note: string; label: string; size: number; epoch: number }[] = [];
  // Checkpoints: open each (signature first), then compare roots when the tree reaches its size.
  const due = new Map<number, { root: Uint8Array; label: string; note?: string }[]>();
  let lastGood = 0;
  try {
    let number = 0;
    for (const note of options.checkpoints ?? []) {
      number++;
      const label = `checkpoint ${String(number)}`;
      let size: number;
      let rootHash: Uint8Array;
      if (history === undefined && options.verifier !== undefined && options.origin !== undefined) {
        let opened;
        try {
          opened = openCheckpoint(note, {
            origin: options.origin,
            log: options.verifier,
            ...(options.cosigners === undefined ? {} : { cosigners: options.cosigners }),
          });
        } catch (e) {
          throw new Bad(undefined, `${label}: ${(e as Error).message}`);
        }
        ({ size, rootHash } = opened.checkpoint);
      } else {
        // No key to check with: the text is read, and the verdict says signatures were not checked.
        const text = note.slice(0, note.indexOf("\n\n") + 1);
        try {
          ({ size, rootHash } = parseCheckpoint(text));
        } catch (e) {
          throw new Bad(undefined, `${label}: ${(e as Error).message}`);
        }
      }
      if (size > source.size) {
        throw new Bad(
          source.size,
          `${label} is signed for ${String(size)} entries but the log holds ${String(source.size)}: it was truncated`,
        );
      }
      const list = due.get(size) ?? [];
      list.push({ root: rootHash, label, ...(history === undefined ? {} : { note }) });
      due.set(size, list);
    }

    const cache = new Map<number, { index: number; bytes: Uint8Array }>();
    const stored = async (level: number, index: number): Promise<Uint8Array> => {
      const tileIndex = Math.floor(index / TILE_WIDTH);
      let t = cache.get(level);
      if (t?.index !== tileIndex) {
        t = { index: tileIndex, bytes: await source.tile(level, tileIndex) };
        cache.set(level, t);
      }
      const o = (index % TILE_WIDTH) * HASH;
      return t.bytes.subarray(o, o + HASH);
    };
    const completed: { level: number; index: number; hash: Uint8Array }[] = [];
    const sink = (level: number, index: number, hash: Uint8Array): void => {
      if (level % 8 === 0) completed.push({ level: level / 8, index, hash });
    };
    const checkRoot = (): void => {
      for (const c of due.get(tree.size) ?? []) {
        if (c.note !== undefined)
          epochOf.push({ note: c.note, label: c.label, size: tree.size, epoch: keyEvents.length });
        if (!equalBytes(tree.root(), c.root)) {
          throw new Bad(
            lastGood,
            `the entries do not hash to the root of ${c.label} (size ${String(tree.size)}): an entry at or after ${String(lastGood)} was rewritten`,
          );
        }
        lastGood = tree.size;
      }
    };
    checkRoot();
    const PAGE = TILE_WIDTH;
    for (;;) {
      const rows = await source.entries(tree.size, PAGE);
      if (rows.length === 0) break;
      for (const row of rows) {
        const i = tree.size;
        if (row.seq !== i) throw new Bad(i, `entry ${String(i)} is missing`);
        if (i >= source.size) {
          throw new Bad(i, `entry ${String(i)} lies beyond the log's size ${String(source.size)}`);
        }
        const decoded = decodeLogEntry(row.bytes);
        if (decoded === undefined) {
          throw new Bad(i, `entry ${String(i)} is not a canonical log entry`);
        }
        const event = history === undefined ? undefined : keyEventOf(decoded);
        if (event !== undefined) keyEvents.push(event);
        const leaf = leafHash(row.bytes);
        completed.length = 0;
        tree.append(leaf, sink);
        for (const c of completed) {
          const have = await stored(c.level, c.index);
          if (have.length !== HASH || !equalBytes(have, c.hash)) {
            const first = c.index * TILE_WIDTH ** c.level;
            throw new Bad(
              first,
              c.level === 0
                ? `entry ${String(i)} does not match its leaf hash in tile 0/${String(Math.floor(i / TILE_WIDTH))}`
                : `tile ${String(c.level)}/${String(Math.floor(c.index / TILE_WIDTH))} hash ${String(c.index % TILE_WIDTH)} is wrong (entries from ${String(first)})`,
            );
          }
        }
        checked++;
        checkRoot();
      }
      if (rows.length < PAGE) break;
    }
    if (tree.size < source.size) {
      throw new Bad(
        tree.size,
        `the log claims ${String(source.size)} entries but entry ${String(tree.size)} and later are missing`,
      );
    }
    // No stored tile may hold hashes beyond the size (a tile edited to add some, or a tail cut).
    for (let level = 0; TILE_WIDTH ** level <= tree.size; level++) {
      const last = Math.ceil(Math.floor(tree.size / TILE_WIDTH ** level) / TILE_WIDTH) - 1;
      if (last < 0) break;
      const width = tileWidth(level, last, tree.size);
      const bytes = await source.tile(level, last);
      if (bytes.length !== width * HASH) {
        throw new Bad(
          last * TILE_WIDTH ** (level + 1),
          `tile ${String(level)}/${String(last)} holds ${String(bytes.length / HASH)} hashes where the log's size implies ${String(width)}`,
        );
      }
    }
    if (source.frontier !== undefined) {
      const f = tree.frontier();
      const same =
        f.length === source.frontier.length &&
        f.every((h, k) => {
          const other = source.frontier?.[k];
          return other !== undefined && equalBytes(h, other);
        });
      if (!same) throw new Bad(tree.size, "the stored frontier is not the recomputed one");
    }
    if (history !== undefined && options.origin !== undefined)
      checkHistorySignatures(epochOf, keyEvents, history, options.origin, options.cosigners);
  } catch (e) {
    if (!(e instanceof Bad)) throw e;
    return {
      ok: false,
      entries: checked,
      size: source.size,
      root: Buffer.from(tree.root()).toString("hex"),
      checkpoints: [...due.values()].flat().length,
      ...(e.index === undefined ? {} : { firstBad: e.index }),
      problem: e.message,
      signaturesChecked,
    };
  }
  return {
    ok: true,
    entries: checked,
    size: source.size,
    root: Buffer.from(tree.root()).toString("hex"),
    checkpoints: [...due.values()].flat().length,
    signaturesChecked,
  };
}

/** A key event on the node's own log: the key checkpoints are signed with from then on. */
function keyEventOf(e: {
  kind: string;
  data: Readonly<Record<string, unknown>>;
}): { new: string; previous: string } | undefined {
  const d = e.data;
  if (e.kind === "key-rotated" && typeof d.signing === "string" && typeof d.previous === "string")
    return { new: d.signing, previous: d.previous };
  if (
    e.kind === "key-revoked" &&
    typeof d.replacement === "string" &&
    typeof d.signing === "string"
  )
    return { new: d.replacement, previous: d.signing };
  return undefined;
}

/**
 * Each checkpoint against the key valid at its size: before the first key event the key that
 * event replaced (or `current` when there is none), after event k the key it installed.
 */
function checkHistorySignatures(
  checkpoints: readonly { note: string; label: string; size: number; epoch: number }[],
  events: readonly { new: string; previous: string }[],
  history: NonNullable<VerifyOptions["keyHistory"]>,
  origin: string,
  cosigners: readonly NoteVerifier[] | undefined,
): void {
  for (const c of checkpoints) {
    const fingerprint =
      c.epoch === 0 ? (events[0]?.previous ?? history.current) : events[c.epoch - 1]?.new;
    const raw = fingerprint === undefined ? undefined : history.keys.get(fingerprint);
    if (fingerprint === undefined || raw === undefined)
      throw new Bad(
        c.size - 1,
        `${c.label} (size ${String(c.size)}): the log's key history names key ${fingerprint ?? "?"}, whose public key is not known here`,
      );
    try {
      openCheckpoint(c.note, {
        origin,
        log: ed25519NoteVerifier(origin, raw),
        ...(cosigners === undefined ? {} : { cosigners }),
      });
    } catch (e) {
      throw new Bad(
        c.size - 1,
        `${c.label} (size ${String(c.size)}) is not signed by ${fingerprint}, the key the log's history names for it: ${(e as Error).message}`,
      );
    }
  }
}

/** A `LogSource` over a node's store. */
export async function storeLogSource(ledger: LedgerRepo): Promise<LogSource> {
  const { size, frontier } = await ledger.state();
  return {
    size,
    frontier,
    entries: (from, count) => ledger.entries(from, count),
    tile: (level, index) => ledger.tile(level, index),
  };
}

/** Verifies a node's own log in its store against every checkpoint it issued. */
export async function verifyStoredLog(
  ledger: LedgerRepo,
  options: Omit<VerifyOptions, "checkpoints"> & { readonly known?: readonly string[] } = {},
): Promise<LogVerdict> {
  const source = await storeLogSource(ledger);
  const notes: string[] = [];
  for (let from = 0; ;) {
    const page = await ledger.checkpoints(from, 1000);
    notes.push(...page.map((c) => c.note));
    const last = page.at(-1);
    if (page.length < 1000 || last === undefined) break;
    from = last.size + 1;
  }
  return verifyLog(source, { ...options, checkpoints: [...notes, ...(options.known ?? [])] });
}

/** Every entry of a source, decoded (after `verifyLog` said the source is intact). */
export async function readLogEntries(
  source: LogSource,
): Promise<{ seq: number; kind: string; at: string; data: Readonly<Record<string, unknown>> }[]> {
  const out: { seq: number; kind: string; at: string; data: Readonly<Record<string, unknown>> }[] =
    [];
  while (out.length < source.size) {
    const rows = await source.entries(out.length, TILE_WIDTH);
    if (rows.length === 0) break;
    for (const r of rows) {
      const e = decodeLogEntry(r.bytes);
      if (e === undefined || r.seq !== out.length) {
        throw new AccordError("ERR_MALFORMED_INPUT", `log entry ${String(r.seq)} is malformed`);
      }
      out.push({ seq: r.seq, ...e });
    }
  }
  return out;
}
