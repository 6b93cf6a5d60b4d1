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
 * The latest checkpoint seen per partner is read back from this node's own log (the last `witness`
 * entry for the partner), so it is as durable and tamper-evident as every other decision; it is
 * cached in memory after the first read.
 *
 * Risks: everything the partner serves is attacker-controlled: the note is opened with the
 * partner's key as this node knows it (its peer record), the proof is checked, never trusted.
 */
import type { KeyObject } from "node:crypto";
import { jwkThumbprint } from "../crypto/keys.js";
import { AccordError, isAccordError } from "../errors.js";
import {
  addNoteSignatures,
  checkConsistency,
  decodeBase64,
  ed25519Cosigner,
  encodeBase64,
  openCheckpoint,
  type Checkpoint,
} from "../tlog/index.js";
import { logOrigin, logVerifier } from "./log.js";
import type { Clock, Logger, Peer, Store } from "./ports.js";

/** Reads a partner's log (signed peer requests to `/federation/v1/log/<path>`). */
export interface PartnerLogClient {
  get(peer: Peer, path: string): Promise<Uint8Array>;
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
    }
  | {
      readonly partner: string;
      readonly consistent: false;
      readonly reason: string;
      readonly size: number;
      readonly previousSize: number;
    };

export interface WitnessAlarm {
  readonly seq: number;
  readonly at: string;
  readonly partner: string;
  readonly reason: string;
  readonly previous: string;
  readonly offered: string;
}

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

/** The name under which a node cosigns partners' checkpoints. */
export function witnessName(nodeId: string): string {
  return `accord.witness/${nodeId}`;
}

export class WitnessService {
  readonly #d: WitnessDeps;
  #seen: Map<string, Seen> | undefined;
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
    const next = openCheckpoint(note, { origin, log: verifiers }).checkpoint;
    const seen = (await this.#latestSeen()).get(peer.nodeId);
    let proof: Uint8Array[] = [];
    if (seen !== undefined && seen.checkpoint.size > 0 && next.size > seen.checkpoint.size) {
      const body = JSON.parse(
        Buffer.from(
          await this.#d.client.get(
            peer,
            `proof/consistency?from=${String(seen.checkpoint.size)}&to=${String(next.size)}`,
          ),
        ).toString("utf8"),
      ) as { proof?: unknown };
      proof = Array.isArray(body.proof)
        ? body.proof.map(
            (p) => (typeof p === "string" ? decodeBase64(p) : undefined) ?? new Uint8Array(0),
          )
        : [];
    }
    const verdict =
      seen === undefined
        ? ({ consistent: true } as const)
        : checkConsistency(seen.checkpoint, next, proof);
    const at = this.#d.clock.now().toISOString();
    const previousSize = seen?.checkpoint.size ?? 0;
    if (!verdict.consistent) {
      await this.#d.store.transaction(async (tx) => {
        await tx.ledger.append({
          kind: "witness-alarm",
          at,
          data: {
            partner: peer.nodeId,
            reason: verdict.reason,
            previous: seen?.note ?? "",
            offered: note,
          },
        });
      });
      return {
        partner: peer.nodeId,
        consistent: false,
        reason: verdict.reason,
        size: next.size,
        previousSize,
      };
    }
    const cosigner = ed25519Cosigner(witnessName(this.#d.nodeId), this.#d.signingKey, () =>
      Math.floor(this.#d.clock.now().getTime() / 1000),
    );
    const cosigned = addNoteSignatures(note, [cosigner]);
    // The same checkpoint again (same size, and consistent, so same root) is cosigned afresh but
    // not logged again: the log records each checkpoint witnessed once.
    if (seen?.checkpoint.size !== next.size) {
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
    return { partner: peer.nodeId, consistent: true, size: next.size, previousSize, cosigned };
  }

  /** Every refused checkpoint, with both notes as evidence (for oversight). */
  async alarms(): Promise<WitnessAlarm[]> {
    const out: WitnessAlarm[] = [];
    await this.#scan((e) => {
      if (e.kind !== "witness-alarm") return;
      out.push({
        seq: e.seq,
        at: e.at,
        partner: String(e.data.partner),
        reason: String(e.data.reason),
        previous: String(e.data.previous),
        offered: String(e.data.offered),
      });
    });
    return out;
  }

  async #latestSeen(): Promise<Map<string, Seen>> {
    if (this.#seen !== undefined) return this.#seen;
    const seen = new Map<string, Seen>();
    await this.#scan((e) => {
      if (e.kind !== "witness" || typeof e.data.note !== "string") return;
      const partner = String(e.data.partner);
      const text = e.data.note.slice(0, e.data.note.indexOf("\n\n") + 1);
      const lines = text.split("\n");
      const rootHash = decodeBase64(lines[2] ?? "");
      if (rootHash === undefined) return;
      seen.set(partner, {
        note: e.data.note,
        checkpoint: { origin: lines[0] ?? "", size: Number(lines[1]), rootHash, extensions: [] },
      });
    });
    this.#seen = seen;
    return seen;
  }

  async #scan(
    visit: (e: {
      seq: number;
      at: string;
      kind: string;
      data: Readonly<Record<string, unknown>>;
    }) => void,
  ): Promise<void> {
    const size = await this.#d.store.ledger.size();
    for (let from = 0; from < size; from += 1000) {
      for (const e of await this.#d.store.ledger.list(from, 1000)) visit(e);
    }
  }
}
