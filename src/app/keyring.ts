/**
 * The node's keys as they change at run time (spec/federation.md, "Key rotation"). A `NodeKeyRing`
 * is a `NodeKeys` whose `signing` and `encryption` are always the current pair, so every service
 * that reads `keys.signing.privateKey` when it signs picks up a rotation without being rebuilt;
 * `signer` is the live RFC 9421 request signer the peer clients share.
 *
 * Besides the current pair the ring holds earlier pairs whose private keys are still needed:
 *  - `decrypts`: a previous pair inside its overlap; envelopes sealed to its X25519 key open.
 *  - otherwise only to sign the delivery requests of key announcements a partner has not yet
 *    acknowledged (a partner knows only the key it pinned, spec/federation.md).
 *
 * `exclusive` serialises rotation with checkpoint signing: a checkpoint is signed by the key
 * current when its tree was read, so `accord log verify` can name the key each checkpoint needs.
 */
import type { KeyObject } from "node:crypto";
import { jwkThumbprint, type NodeKeys, type PublicJwk } from "../crypto/keys.js";
import { parseProtectedHeader } from "../crypto/compact.js";

export interface HeldKey {
  readonly keys: NodeKeys;
  /** True inside the overlap: envelopes sealed to its encryption key still open. */
  readonly decrypts: boolean;
}

/** A request signer whose key is read at each use (src/federation/request-signing.ts). */
export interface LiveSigner {
  readonly key: KeyObject;
  readonly keyId: string;
}

export class NodeKeyRing implements NodeKeys {
  #current: NodeKeys;
  #held = new Map<string, HeldKey>();
  #queue: Promise<unknown> = Promise.resolve();

  /** The live request signer (the current key at each request). */
  readonly signer: LiveSigner;

  constructor(current: NodeKeys, held: readonly HeldKey[] = []) {
    this.#current = current;
    for (const h of held) this.hold(h.keys, h.decrypts);
    const key = (): KeyObject => this.signing.privateKey;
    const keyId = (): string => this.fingerprint;
    this.signer = {
      get key() {
        return key();
      },
      get keyId() {
        return keyId();
      },
    };
  }

  get signing(): NodeKeys["signing"] {
    return this.#current.signing;
  }

  get encryption(): NodeKeys["encryption"] {
    return this.#current.encryption;
  }

  /** The current pair as a plain, frozen `NodeKeys`. */
  get current(): NodeKeys {
    return this.#current;
  }

  /** RFC 7638 thumbprint of the current signing key. */
  get fingerprint(): string {
    return jwkThumbprint(this.#current.signing.publicJwk);
  }

  readonly decryptionKeys = (): readonly KeyObject[] => [
    this.#current.encryption.privateKey,
    ...[...this.#held.values()].filter((h) => h.decrypts).map((h) => h.keys.encryption.privateKey),
  ];

  /** The pair whose signing key has this fingerprint, if the ring holds its private half. */
  find(fingerprint: string): NodeKeys | undefined {
    if (fingerprint === this.fingerprint) return this.#current;
    return this.#held.get(fingerprint)?.keys;
  }

  /** Earlier pairs still held, in no particular order. */
  held(): readonly HeldKey[] {
    return [...this.#held.values()];
  }

  /** Make `next` current; the old current pair is held (decrypting during the overlap, or not). */
  rotate(next: NodeKeys, oldDecrypts: boolean): void {
    const old = this.#current;
    this.#current = next;
    this.hold(old, oldDecrypts);
  }

  /** Hold a pair (again), or change whether it decrypts. */
  hold(keys: NodeKeys, decrypts: boolean): void {
    this.#held.set(jwkThumbprint(keys.signing.publicJwk), { keys, decrypts });
  }

  /** Forget an earlier pair's private keys. */
  drop(fingerprint: string): void {
    this.#held.delete(fingerprint);
  }

  /** Run `fn` alone: rotations and checkpoint signatures never interleave. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

/** Run `fn` under the ring's lock when `keys` is a ring (checkpoint signing, app/node.ts). */
export function withKeyLock<T>(keys: NodeKeys, fn: () => Promise<T>): Promise<T> {
  return keys instanceof NodeKeyRing ? keys.exclusive(fn) : fn();
}

/**
 * This node's public key that made `jws` (by its header's `kid`): the current key, or an earlier
 * one the ring still holds, so a receipt issued before a rotation still verifies when returned
 * again for a redelivery.
 */
export function ownKeyFor(keys: NodeKeys, jws: string): PublicJwk {
  const header = parseProtectedHeader(jws.split(".", 1)[0] ?? "");
  const kid = header?.kid;
  if (keys instanceof NodeKeyRing && typeof kid === "string") {
    const held = keys.find(kid);
    if (held !== undefined) return held.signing.publicJwk;
  }
  return keys.signing.publicJwk;
}
