/**
 * Witnesses' cosignatures of this node's checkpoints (spec/log.md, "Witnesses"): a witness that
 * cosigned one of this node's checkpoints (C2SP tlog-cosignature) sends it back; this node checks
 * it and serves its checkpoints with those cosignatures appended, so that any verifier can require
 * a quorum of witnesses it trusts.
 *
 * Who may send one: the request is authenticated before it gets here (RFC 9421, src/server/
 * peer-auth.ts), either by a partner node, whose cosignature key is its node key under the name
 * `accord.witness/<node id>`, or by an oversight witness configured in accord.yaml
 * (`witness.oversight`: its cosignature vkey), whose name and key come from that vkey. A witness
 * can only add its own cosignatures: lines by any other name in the note it sends are ignored.
 *
 * What is checked (everything the witness sends is attacker-controlled):
 *   - the note is at most 32 KiB with at most 64 signature lines, and parses as a checkpoint of
 *     this node's log (origin `accord.log/<this node>`);
 *   - this node issued exactly that checkpoint: its stored checkpoint of that size has the same
 *     text (size and root), so a witness cannot attach cosignatures to a tree head this node never
 *     signed;
 *   - the witness's cosignature verifies under one of its keys: for a partner, its current key or
 *     an earlier one recorded at a rotation, never one it announced revoked (witness.ts
 *     `partnerSigningKeys`); for an oversight witness, a configured key;
 *   - its time is not more than ten minutes ahead of this node's clock.
 * Then each verified line is stored (`log_cosignatures`, migration 14; the later time wins for the
 * same checkpoint and key). Nothing is logged in the Merkle log: a cosignature is the witness's
 * statement about this log, not a decision of this node.
 */
import { AccordError } from "../errors.js";
import {
  COSIGNATURE_TYPE,
  cosignatureTimestamp,
  ed25519CosignatureVerifier,
  encodeBase64,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  verifierFromKey,
  type NoteVerifier,
} from "../tlog/index.js";
import { logOrigin } from "./log.js";
import type { Clock, StoredCheckpoint, StoredCosignature, Store } from "./ports.js";
import { partnerSigningKeys, witnessName } from "./witness.js";

/** How far ahead of this node's clock a cosignature's time may be. */
const MAX_FUTURE_SECONDS = 600;

/** Who sent a cosignature (as authenticated): a partner node or an oversight witness by name. */
export type WitnessSender = { readonly partner: string } | { readonly oversight: string };

/** An oversight witness this node accepts cosignatures from (accord.yaml `witness.oversight`). */
export interface OversightWitness {
  readonly name: string;
  /** 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
  readonly verifier: NoteVerifier;
}

/** Parses accord.yaml's `witness.oversight` vkeys: each a cosignature key (type 0x04). */
export function parseOversightWitnesses(vkeys: readonly string[]): OversightWitness[] {
  return vkeys.map((vkey, i) => {
    const k = parseVerifierKey(vkey);
    if (k.type !== COSIGNATURE_TYPE) {
      throw new AccordError(
        "ERR_KEYS_INVALID",
        `witness.oversight[${String(i)}] is not a cosignature key (type 0x04); \`accord witness init\` prints one`,
      );
    }
    return { name: k.name, publicKey: k.publicKey, verifier: verifierFromKey(k) };
  });
}

export interface CosignatureDeps {
  readonly nodeId: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly oversight: readonly OversightWitness[];
}

export class CosignatureBook {
  readonly #d: CosignatureDeps;

  constructor(deps: CosignatureDeps) {
    this.#d = deps;
  }

  /** The oversight witnesses configured (their keys also authenticate their requests). */
  oversightWitnesses(): readonly OversightWitness[] {
    return this.#d.oversight;
  }

  /** Check and store the cosignatures `sender` made on one of this node's checkpoints. */
  async accept(
    sender: WitnessSender,
    note: string,
  ): Promise<{ size: number; witness: string; stored: number }> {
    const { name, verifiers } = await this.#verifiersOf(sender);
    // The witness's own lines only: other names in the note are ignored (openNote skips them).
    const opened = openNote(note, verifiers);
    const checkpoint = parseCheckpoint(opened.text);
    if (checkpoint.origin !== logOrigin(this.#d.nodeId)) {
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `the cosigned checkpoint is for \`${checkpoint.origin}\`, not this node's log`,
      );
    }
    const [issued] = await this.#d.store.ledger.checkpoints(checkpoint.size, 1);
    if (issued?.size !== checkpoint.size || textOf(issued.note) !== opened.text) {
      throw new AccordError(
        "ERR_NOT_FOUND",
        `this node issued no checkpoint of size ${String(checkpoint.size)} with that root`,
      );
    }
    const now = Math.floor(this.#d.clock.now().getTime() / 1000);
    const receivedAt = this.#d.clock.now().toISOString();
    const rows: StoredCosignature[] = [];
    for (const sig of opened.verified) {
      const timestamp = cosignatureTimestamp(sig.signature);
      if (timestamp === undefined) {
        throw new AccordError("ERR_SIGNATURE_INVALID", "the cosignature has no valid time");
      }
      if (timestamp > now + MAX_FUTURE_SECONDS) {
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          "the cosignature's time is more than ten minutes ahead of this node's clock",
        );
      }
      const bytes = new Uint8Array(4 + sig.signature.length);
      new DataView(bytes.buffer).setUint32(0, sig.keyId);
      bytes.set(sig.signature, 4);
      rows.push({
        size: checkpoint.size,
        witness: sig.name,
        keyId: sig.keyId,
        timestamp,
        line: `\u2014 ${sig.name} ${encodeBase64(bytes)}`,
        receivedAt,
      });
    }
    await this.#d.store.transaction(async (tx) => {
      for (const r of rows) await tx.ledger.putCosignature(r);
    });
    return { size: checkpoint.size, witness: name, stored: rows.length };
  }

  /** A checkpoint with the cosignatures stored for its size appended (C2SP signed note). */
  async withCosignatures(c: { readonly size: number; readonly note: string }): Promise<string> {
    const lines = await this.#d.store.ledger.cosignatures(c.size);
    return c.note + lines.map((l) => `${l.line}\n`).join("");
  }

  /**
   * For each witness, the largest checkpoint it cosigned, each with every cosignature stored for
   * it, ascending by size: what a verifier needs to find a quorum when the latest checkpoint has
   * not been cosigned yet.
   */
  async witnessed(): Promise<{ size: number; note: string }[]> {
    const sizes = [
      ...new Set((await this.#d.store.ledger.latestCosignatures()).map((c) => c.size)),
    ];
    sizes.sort((a, b) => a - b);
    const out: { size: number; note: string }[] = [];
    for (const size of sizes) {
      const [c]: StoredCheckpoint[] = await this.#d.store.ledger.checkpoints(size, 1);
      if (c?.size !== size) continue;
      out.push({ size, note: await this.withCosignatures(c) });
    }
    return out;
  }

  async #verifiersOf(sender: WitnessSender): Promise<{ name: string; verifiers: NoteVerifier[] }> {
    if ("oversight" in sender) {
      const verifiers = this.#d.oversight
        .filter((w) => w.name === sender.oversight)
        .map((w) => w.verifier);
      if (verifiers.length === 0) {
        throw new AccordError(
          "ERR_UNKNOWN_PARTNER",
          `\`${sender.oversight}\` is not a witness this node knows`,
        );
      }
      return { name: sender.oversight, verifiers };
    }
    const peer = await this.#d.store.peers.get(sender.partner);
    if (peer === undefined) {
      throw new AccordError("ERR_UNKNOWN_PARTNER", `\`${sender.partner}\` is not a partner`);
    }
    const name = witnessName(peer.nodeId);
    const keys = await partnerSigningKeys(this.#d.store, peer);
    return { name, verifiers: keys.map((k) => ed25519CosignatureVerifier(name, k)) };
  }
}

/** The text of a signed note (up to and including the newline before the blank line). */
function textOf(note: string): string {
  return note.slice(0, note.indexOf("\n\n") + 1);
}
