/**
 * Witnessing partners' logs (spec/log.md, "Witnesses"): this node fetches a partner's signed
 * checkpoint, checks it against the latest checkpoint it has seen from that partner (a consistency
 * proof from the partner, RFC 9162 §2.1.4), and then either
 *
 *   - cosigns it (C2SP tlog-cosignature, `cosignature/v1` with this node's Ed25519 key under the
 *     name `accord.witness/<node id>`) and logs a `witness` entry with the size and root, which
 *     becomes the latest seen; or
 *   - refuses it (a fork, a rewrite, a rollback: `checkConsistency`'s reason) and logs a
 *     `witness-alarm` entry holding both signed notes as evidence, which oversight lists through
 *     `alarms()` (GET /api/v1/log/witness/alarms). The latest seen stays the old one.
 *
 * Only changes are logged: an idle partner's same checkpoint is cosigned afresh without a new
 * entry; a partner whose log grew only by its records of witnessing this node (an "echo") is not
 * logged either, so two nodes witnessing each other settle; a fork that persists is logged once per
 * distinct evidence.
 *
 * The latest checkpoint seen per partner is read back from this node's own log (the last `witness`
 * entry for the partner), so it is as durable and tamper-evident as every other decision; it is
 * cached in memory after the first read.
 *
 * Risks: everything the partner serves is attacker-controlled: the note is opened with the
 * partner's key as this node knows it (its peer record), the proof is checked, never trusted.
 */
import type { KeyObject } from "node:crypto";
import { decodeLogEntry } from "../core/log-entry.js";
import { jwkThumbprint } from "../crypto/keys.js";
import { AccordError, isAccordError } from "../errors.js";
import {
  addNoteSignatures,
  checkConsistency,
  decodeBase64,
  decodeEntryBundle,
  ed25519Cosigner,
  encodeBase64,
  equalBytes,
  leafHash,
  openCheckpoint,
  parseCheckpoint,
  TILE_WIDTH,
  tilePath,
  tileWidth,
  verifyInclusion,
  type Checkpoint,
  type ConsistencyVerdict,
  type NoteVerifier,
} from "../tlog/index.js";
import { logOrigin, logVerifier } from "./log.js";
import type { Clock, Logger, Peer, Store } from "./ports.js";

/** Reads a partner's log (signed peer requests to `/federation/v1/log/<path>`). */
export interface PartnerLogClient {
  get(peer: Peer, path: string): Promise<Uint8Array>;
  /** POST a `text/plain` body to `/federation/v1/log/<path>`; resolves with the answer's bytes. */
  post(peer: Peer, path: string, body: string): Promise<Uint8Array>;
}

export interface WitnessDeps {
  readonly nodeId: string;
  readonly signingKey: KeyObject;
  readonly store: Store;
  readonly clock: Clock;
  readonly client: PartnerLogClient;
  /** Operational log of the scheduled pass (codes and partner ids only). */
  readonly logger?: Logger;
}

export type WitnessResult =
  | {
      readonly partner: string;
      readonly consistent: true;
      readonly size: number;
      readonly previousSize: number;
      /** The partner's checkpoint with this node's cosignature added. */
      readonly cosigned: string;
      /** Whether the partner took the cosignature back (POST .../log/cosignatures). */
      readonly sentBack: boolean;
      /**
       * The partner's log grew only by its own records of witnessing this node (`witness` entries
       * naming this node): the last checkpoint logged stays the latest seen and is cosigned
       * afresh, so two nodes witnessing each other do not log each other's witnessing forever.
       */
      readonly echo?: true;
    }
  | {
      readonly partner: string;
      readonly consistent: false;
      readonly reason: string;
      readonly size: number;
      readonly previousSize: number;
      /**
       * Whether this observation wrote a `witness-alarm` entry: false when the same evidence (the
       * same two checkpoints) was already logged by an earlier pass.
       */
      readonly alarmLogged: boolean;
    };

export interface WitnessAlarm {
  readonly seq: number;
  readonly at: string;
  readonly partner: string;
  readonly reason: string;
  readonly previous: string;
  readonly offered: string;
}

/**
 * The most entries a partner's log may grow by and still be checked for being only its records of
 * witnessing this node (one per pass in practice; more is activity worth logging).
 */
const MAX_ECHO = 4;

interface Seen {
  readonly checkpoint: Checkpoint;
  readonly note: string;
}

/**
 * The Ed25519 public keys (32 bytes each) a partner may sign with: its current key and every
 * earlier key this node has recorded for it (a rotation's previous keys, whether or not the
 * overlap has ended: spec/federation.md "Key rotation"), except any the partner announced
 * revoked. A checkpoint or a cosignature made before a rotation still verifies; one made with a
 * revoked key never does.
 */
export async function partnerSigningKeys(store: Store, peer: Peer): Promise<Uint8Array[]> {
  const revoked = new Set(
    (await store.keys.revokedPeerKeys())
      .filter((r) => r.nodeId === peer.nodeId)
      .map((r) => r.fingerprint),
  );
  const out = new Map<string, Uint8Array>();
  const add = (jwk: Readonly<Record<string, string>>): void => {
    const x = jwk.x;
    if (x === undefined || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") return;
    const fingerprint = jwkThumbprint({ kty: "OKP", crv: "Ed25519", x });
    if (revoked.has(fingerprint) || out.has(fingerprint)) return;
    const raw = new Uint8Array(Buffer.from(x, "base64url"));
    if (raw.length === 32) out.set(fingerprint, raw);
  };
  add(peer.signingKey);
  for (const k of await store.keys.peerKeyHistory())
    if (k.nodeId === peer.nodeId) add(k.signingKey);
  return [...out.values()];
}

/**
 * The witness's check of an offered checkpoint, shared by the node's witnessing and the
 * standalone `accord witness`: open `note` with the log's keys, then, when it is larger than the
 * last checkpoint seen (`seen`, a signed note this witness already checked), fetch a consistency
 * proof from the log (`get("proof/consistency?...")`) and judge it (`checkConsistency`).
 */
export async function checkOffered(o: {
  readonly note: string;
  readonly origin: string;
  readonly verifiers: readonly NoteVerifier[];
  readonly seen: string | undefined;
  readonly get: (path: string) => Promise<Uint8Array>;
}): Promise<{
  next: Checkpoint;
  verdict: ConsistencyVerdict;
  proof: Uint8Array[];
  previousSize: number;
}> {
  const next = openCheckpoint(o.note, { origin: o.origin, log: o.verifiers }).checkpoint;
  const seen = o.seen === undefined ? undefined : checkpointOf(o.seen);
  let proof: Uint8Array[] = [];
  if (seen !== undefined && seen.size > 0 && next.size > seen.size) {
    const body = JSON.parse(
      Buffer.from(
        await o.get(`proof/consistency?from=${String(seen.size)}&to=${String(next.size)}`),
      ).toString("utf8"),
    ) as { proof?: unknown };
    proof = Array.isArray(body.proof)
      ? body.proof.map(
          (p) => (typeof p === "string" ? decodeBase64(p) : undefined) ?? new Uint8Array(0),
        )
      : [];
  }
  const verdict: ConsistencyVerdict =
    seen === undefined ? { consistent: true } : checkConsistency(seen, next, proof);
  return { next, verdict, proof, previousSize: seen?.size ?? 0 };
}

/** The name under which a node cosigns partners' checkpoints. */
export function witnessName(nodeId: string): string {
  return `accord.witness/${nodeId}`;
}

export class WitnessService {
  readonly #d: WitnessDeps;
  #seen: Map<string, Seen> | undefined;
  /** The evidence already logged as `witness-alarm` entries (`evidenceKey`), read once. */
  #alarmed: Set<string> | undefined;
  /** Per partner, the last checkpoint found to be an echo (`isEcho`), so it is checked once. */
  readonly #echoes = new Map<string, Checkpoint>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(deps: WitnessDeps) {
    this.#d = deps;
  }

  /**
   * Witness every partner's log once (the node's scheduled pass, spec/log.md "Witnesses"). A
   * partner that cannot be reached or serves something unusable is logged (code and message, no
   * key material, no note) and skipped; the others are still witnessed.
   */
  async observeAll(): Promise<WitnessResult[]> {
    const out: WitnessResult[] = [];
    for (const peer of await this.#d.store.peers.list()) {
      try {
        const r = await this.observe(peer.nodeId);
        out.push(r);
        if (!r.consistent) {
          this.#d.logger?.error(
            { partner: r.partner, reason: r.reason, size: r.size, previousSize: r.previousSize },
            "a partner's checkpoint is not consistent with the last one seen: witness-alarm logged",
          );
        }
      } catch (e) {
        this.#d.logger?.warn(
          {
            partner: peer.nodeId,
            code: isAccordError(e) ? e.code : "ERR_INTERNAL",
            error: e instanceof Error ? e.message : String(e),
          },
          "witnessing a partner's log failed",
        );
      }
    }
    return out;
  }

  /**
   * Fetch, check, and cosign or refuse a partner's current checkpoint. Observations run one at a
   * time (the schedule and the API may ask at once), so the latest seen never goes backwards.
   */
  observe(partnerId: string): Promise<WitnessResult> {
    const run = this.#queue.then(
      () => this.#observe(partnerId),
      () => this.#observe(partnerId),
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #observe(partnerId: string): Promise<WitnessResult> {
    const peer = await this.#d.store.peers.get(partnerId);
    if (peer === undefined) {
      throw new AccordError("ERR_UNKNOWN_PARTNER", `\`${partnerId}\` is not a partner`);
    }
    const keys = await partnerSigningKeys(this.#d.store, peer);
    if (keys.length === 0)
      throw new AccordError("ERR_KEYS_INVALID", "the partner has no usable signing key");
    const origin = logOrigin(peer.nodeId);
    const verifiers = keys.map((k) => logVerifier(peer.nodeId, k));
    const note = Buffer.from(await this.#d.client.get(peer, "checkpoint")).toString("utf8");
    const seen = (await this.#latestSeen()).get(peer.nodeId);
    const { next, verdict } = await checkOffered({
      note,
      origin,
      verifiers,
      seen: seen?.note,
      get: (path) => this.#d.client.get(peer, path),
    });
    const at = this.#d.clock.now().toISOString();
    const previousSize = seen?.checkpoint.size ?? 0;
    if (!verdict.consistent) {
      // A fork that persists is offered again on every pass: the log records each distinct piece
      // of evidence (the two checkpoints, not the signature lines around them) once.
      const previous = seen?.note ?? "";
      const key = evidenceKey(peer.nodeId, previous, note);
      const alarmed = await this.#alarmedEvidence();
      const alarmLogged = !alarmed.has(key);
      if (alarmLogged) {
        await this.#d.store.transaction(async (tx) => {
          await tx.ledger.append({
            kind: "witness-alarm",
            at,
            data: { partner: peer.nodeId, reason: verdict.reason, previous, offered: note },
          });
        });
        alarmed.add(key);
      }
      return {
        partner: peer.nodeId,
        consistent: false,
        reason: verdict.reason,
        size: next.size,
        previousSize,
        alarmLogged,
      };
    }
    const cosigner = ed25519Cosigner(witnessName(this.#d.nodeId), this.#d.signingKey, () =>
      Math.floor(this.#d.clock.now().getTime() / 1000),
    );
    if (
      seen !== undefined &&
      next.size > seen.checkpoint.size &&
      (await this.#isEcho(peer, seen.checkpoint, next))
    ) {
      // Not logged, so not cosigned either (a witness cosigns only what it has durably recorded):
      // the last checkpoint logged is cosigned afresh, as for an idle partner.
      const again = addNoteSignatures(seen.note, [cosigner]);
      return {
        partner: peer.nodeId,
        consistent: true,
        size: seen.checkpoint.size,
        previousSize,
        cosigned: again,
        sentBack: await this.#sendBack(peer, again),
        echo: true,
      };
    }
    const cosigned = addNoteSignatures(note, [cosigner]);
    // The same checkpoint again (an idle partner) is cosigned afresh but not logged again: the log
    // records each checkpoint witnessed once, so a quiet partner adds nothing pass after pass.
    const changed =
      seen?.checkpoint.size !== next.size || !equalBytes(seen.checkpoint.rootHash, next.rootHash);
    if (changed) {
      await this.#d.store.transaction(async (tx) => {
        await tx.ledger.append({
          kind: "witness",
          at,
          data: {
            partner: peer.nodeId,
            size: next.size,
            root: encodeBase64(next.rootHash),
            previousSize,
            note,
          },
        });
      });
      (await this.#latestSeen()).set(peer.nodeId, { checkpoint: next, note });
    }
    const sentBack = await this.#sendBack(peer, cosigned);
    return {
      partner: peer.nodeId,
      consistent: true,
      size: next.size,
      previousSize,
      cosigned,
      sentBack,
    };
  }

  /**
   * Whether the entries `next` adds to `seen` (already proven consistent) are only the partner's
   * records of witnessing this node: at most `MAX_ECHO` entries, each proven in `next` by an
   * inclusion proof, each a `witness` entry naming this node. Anything else, or anything the
   * partner cannot prove, is not an echo: the checkpoint is then logged as usual.
   */
  async #isEcho(peer: Peer, seen: Checkpoint, next: Checkpoint): Promise<boolean> {
    const known = this.#echoes.get(peer.nodeId);
    if (known?.size === next.size && equalBytes(known.rootHash, next.rootHash)) return true;
    if (next.size - seen.size > MAX_ECHO) return false;
    try {
      for (let i = seen.size; i < next.size; i++) {
        const index = Math.floor(i / TILE_WIDTH);
        const width = tileWidth(0, index, next.size);
        const bundle = decodeEntryBundle(
          await this.#d.client.get(peer, tilePath({ level: "entries", index, width })),
          width,
        );
        const bytes = bundle[i - index * TILE_WIDTH];
        if (bytes === undefined) return false;
        const entry = decodeLogEntry(bytes);
        if (entry?.kind !== "witness" || entry.data.partner !== this.#d.nodeId) return false;
        const body = JSON.parse(
          Buffer.from(
            await this.#d.client.get(
              peer,
              `proof/inclusion?index=${String(i)}&size=${String(next.size)}`,
            ),
          ).toString("utf8"),
        ) as { proof?: unknown };
        const proof = Array.isArray(body.proof)
          ? body.proof.map(
              (p) => (typeof p === "string" ? decodeBase64(p) : undefined) ?? new Uint8Array(0),
            )
          : [];
        if (!verifyInclusion(i, next.size, leafHash(bytes), proof, next.rootHash)) return false;
      }
    } catch {
      // A partner that cannot show its new entries gets its checkpoint logged like any other.
      return false;
    }
    this.#echoes.set(peer.nodeId, next);
    return true;
  }

  /**
   * Send the cosignature to the partner, which serves it with its checkpoint. A failure is logged
   * (partner and code) and not retried: the next observation cosigns again.
   */
  async #sendBack(peer: Peer, cosigned: string): Promise<boolean> {
    try {
      await this.#d.client.post(peer, "cosignatures", cosigned);
      return true;
    } catch (e) {
      this.#d.logger?.warn(
        {
          partner: peer.nodeId,
          code: isAccordError(e) ? e.code : "ERR_INTERNAL",
          error: e instanceof Error ? e.message : String(e),
        },
        "a partner did not take this node's cosignature",
      );
      return false;
    }
  }

  /** Every refused checkpoint, with both notes as evidence (for oversight). */
  async alarms(): Promise<WitnessAlarm[]> {
    const out: WitnessAlarm[] = [];
    for (let from = 0; ;) {
      const page = await this.#d.store.ledger.ofKind("witness-alarm", { from, limit: 500 });
      for (const e of page) {
        out.push({
          seq: e.seq,
          at: e.at,
          partner: String(e.data.partner),
          reason: String(e.data.reason),
          previous: String(e.data.previous),
          offered: String(e.data.offered),
        });
      }
      const last = page.at(-1);
      if (page.length < 500 || last === undefined) return out;
      from = last.seq + 1;
    }
  }

  /** The evidence of every `witness-alarm` entry in this node's log, read once and kept. */
  async #alarmedEvidence(): Promise<Set<string>> {
    if (this.#alarmed !== undefined) return this.#alarmed;
    const alarmed = new Set(
      (await this.alarms()).map((a) => evidenceKey(a.partner, a.previous, a.offered)),
    );
    this.#alarmed = alarmed;
    return alarmed;
  }

  /**
   * The latest checkpoint seen from each partner: the newest `witness` entry for it in this
   * node's own log (found through the log's kind index, newest first, until every partner has
   * been found or the entries run out), cached after the first read.
   */
  async #latestSeen(): Promise<Map<string, Seen>> {
    if (this.#seen !== undefined) return this.#seen;
    const seen = new Map<string, Seen>();
    const partners = new Set((await this.#d.store.peers.list()).map((p) => p.nodeId));
    let from: number | undefined;
    for (;;) {
      const page = await this.#d.store.ledger.ofKind("witness", {
        ...(from === undefined ? {} : { from }),
        limit: 500,
        newestFirst: true,
      });
      for (const e of page) {
        const partner = String(e.data.partner);
        if (seen.has(partner) || typeof e.data.note !== "string") continue;
        const checkpoint = checkpointOf(e.data.note);
        if (checkpoint !== undefined) seen.set(partner, { note: e.data.note, checkpoint });
      }
      const last = page.at(-1);
      if (page.length < 500 || last === undefined || [...partners].every((p) => seen.has(p))) break;
      from = last.seq - 1;
      if (from < 0) break;
    }
    this.#seen = seen;
    return seen;
  }
}

/**
 * What makes two alarms the same evidence: the partner and the texts of both checkpoints (origin,
 * size, root). The signature lines are left out: a partner serves its checkpoint with whatever
 * cosignatures it has gathered, which change between passes without changing the evidence.
 */
function evidenceKey(partner: string, previous: string, offered: string): string {
  return JSON.stringify([partner, noteText(previous), noteText(offered)]);
}

function noteText(note: string): string {
  return note.slice(0, note.indexOf("\n\n") + 1);
}

/** The checkpoint in a signed note logged or saved after it was opened (not checked again). */
export function checkpointOf(note: string): Checkpoint | undefined {
  try {
    return parseCheckpoint(noteText(note));
  } catch {
    return undefined;
  }
}
