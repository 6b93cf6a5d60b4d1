/**
 * Key rotation, retirement and revocation (spec/federation.md, "Key rotation"), on both sides:
 *
 *   this node   `rotate` makes a new Ed25519 + X25519 pair current; the old pair stays valid for
 *               the overlap (envelopes sealed to it open, partners accept its signatures) until
 *               `retire` or the overlap's end (`sweep`, from the node loop). `revoke` ends a key
 *               at once; revoking the current key puts a new one in its place. Each event is one
 *               transaction: key history, a log entry (fingerprints only), and one announcement
 *               per partner in a durable outbox that `deliverDue` retries until acknowledged.
 *   partners    `receive` checks an announcement against the key pinned for its node, records
 *               the new key, keeps the old one until the overlap ends (or drops it at once on a
 *               revocation), logs it, and answers with a signed acknowledgement. A refused
 *               announcement is logged too.
 *
 * The private keys live in 0600 files behind the `KeyVault` port (src/cli/key-files.ts); the
 * database holds public halves only. A new pair is staged beside the key file before the
 * transaction and put in place after it commits; `init` finishes or discards a staged pair a
 * crash left behind, by what the database says is current.
 */
import { AccordError } from "../errors.js";
import {
  generateNodeKeys,
  jwkThumbprint,
  parsePublicJwk,
  type NodeKeys,
  type PublicJwk,
} from "../crypto/keys.js";
import type {
  Clock,
  KeyAnnouncementRecord,
  Logger,
  NodeKeyRecord,
  Peer,
  Random,
  Repos,
  Store,
} from "./ports.js";
import type { NodeKeyRing } from "./keyring.js";
import {
  bare,
  checkAck,
  checkAnnouncement,
  parseAnnouncement,
  signAck,
  signAnnouncement,
  type AckBody,
  type Announcement,
  type AnnouncementBody,
} from "./key-announcement.js";
import type { LiveSigner } from "./keyring.js";
import { nextAttemptAt } from "./retry.js";

export const DEFAULT_OVERLAP_MS = 7 * 24 * 3600_000;
/** The longest overlap a node may ask for, and the longest a partner grants. */
export const MAX_OVERLAP_MS = 90 * 24 * 3600_000;

/** Where the private keys are kept (0600 files; src/cli/key-files.ts). */
export interface KeyVault {
  /** Earlier pairs whose private keys are still kept. */
  loadHeld(): NodeKeys[];
  saveHeld(keys: readonly NodeKeys[]): void;
  /** Write `next` beside the current key file; `commitNext` puts it in place. */
  stageNext(next: NodeKeys): void;
  commitNext(): void;
  discardNext(): void;
  /** A pair staged and not yet committed (a crash in between), if any. */
  staged(): NodeKeys | undefined;
}

/** How announcements reach a partner (src/federation/key-client.ts). */
export interface KeyAnnouncementTransport {
  /** POST the announcement, signed (RFC 9421) with `signer`; resolves with the partner's answer. */
  send(peer: Peer, announcement: string, signer: LiveSigner): Promise<unknown>;
}

export interface KeyServiceDeps {
  readonly nodeId: string;
  readonly ring: NodeKeyRing;
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  readonly vault: KeyVault;
  readonly transport?: KeyAnnouncementTransport;
  readonly logger: Logger;
}

export interface KeyEventResult {
  readonly event: "rotate" | "retire" | "revoke";
  /** The key now current. */
  readonly current: string;
  /** The keys the event ended or moved out of current. */
  readonly keys: readonly string[];
  readonly retiresAt?: string;
  /** Partners an announcement was queued for. */
  readonly announced: readonly string[];
}

/** A signing key this node knows for a node, and when (if ever) it was revoked. */
export interface KnownSigningKey {
  readonly jwk: PublicJwk;
  readonly fingerprint: string;
  readonly revokedAt?: string;
}

export class KeyService {
  private readonly d: KeyServiceDeps;

  constructor(deps: KeyServiceDeps) {
    this.d = deps;
  }

  // ---------------------------------------------------------------- start

  /** Finish or discard a staged pair, record the current key, and load the held private keys. */
  async init(): Promise<void> {
    const { ring, store, vault } = this.d;
    let records = await store.keys.keys();
    const staged = vault.staged();
    if (staged !== undefined) {
      const fp = jwkThumbprint(staged.signing.publicJwk);
      const current = records.find((r) => r.status === "current");
      if (current?.fingerprint === fp && fp !== ring.fingerprint) {
        vault.commitNext();
        ring.rotate(staged, true);
      } else vault.discardNext();
    }
    if (!records.some((r) => r.fingerprint === ring.fingerprint)) {
      await store.keys.putKey(recordOf(ring.current, "current", this.nowIso()));
      records = await store.keys.keys();
    }
    const now = this.d.clock.now().getTime();
    for (const keys of vault.loadHeld()) {
      const fp = jwkThumbprint(keys.signing.publicJwk);
      if (fp === ring.fingerprint) continue;
      const r = records.find((x) => x.fingerprint === fp);
      ring.hold(keys, r !== undefined && inOverlap(r, now));
    }
  }

  /** Every own key, oldest first. */
  list(): Promise<NodeKeyRecord[]> {
    return this.d.store.keys.keys();
  }

  // ---------------------------------------------------------------- this node's events

  /** Make a new pair current; the old one stays valid for `overlapMs`. */
  rotate(overlapMs: number = DEFAULT_OVERLAP_MS): Promise<KeyEventResult> {
    if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the overlap must be from 0 to ${String(MAX_OVERLAP_MS / 86_400_000)} days`,
      );
    return this.d.ring.exclusive(async () => {
      const at = this.nowIso();
      const retiresAt = new Date(this.d.clock.now().getTime() + overlapMs).toISOString();
      return this.replaceCurrent({
        event: "rotate",
        at,
        oldStatus: "previous",
        retiresAt,
        logKind: "key-rotated",
      });
    });
  }

  /** End the overlap now for one previous key, or every previous key. */
  retire(fingerprint?: string): Promise<KeyEventResult> {
    return this.d.ring.exclusive(async () => {
      const records = await this.d.store.keys.keys();
      const targets = records.filter(
        (r) =>
          r.status === "previous" && (fingerprint === undefined || r.fingerprint === fingerprint),
      );
      if (targets.length === 0)
        throw new AccordError(
          fingerprint === undefined ? "ERR_BAD_REQUEST" : "ERR_NOT_FOUND",
          fingerprint === undefined
            ? "no key is in its overlap: there is nothing to retire"
            : `\`${fingerprint}\` is not a previous key in its overlap (see \`accord keys list\`)`,
        );
      return this.endKeys(targets, "retire", "operator");
    });
  }

  /** Revoke a key at once (the current one by default, which a new pair replaces). */
  revoke(fingerprint?: string): Promise<KeyEventResult> {
    return this.d.ring.exclusive(async () => {
      const { ring } = this.d;
      const target = fingerprint ?? ring.fingerprint;
      const records = await this.d.store.keys.keys();
      const r = records.find((x) => x.fingerprint === target);
      if (r === undefined)
        throw new AccordError("ERR_NOT_FOUND", `\`${target}\` is not one of this node's keys`);
      if (r.status === "revoked")
        throw new AccordError("ERR_BAD_REQUEST", `\`${target}\` is already revoked`);
      if (target === ring.fingerprint)
        return this.replaceCurrent({
          event: "revoke",
          at: this.nowIso(),
          oldStatus: "revoked",
          retiresAt: null,
          logKind: "key-revoked",
        });
      return this.endKeys([r], "revoke", "operator");
    });
  }

  /** The node loop: retire keys whose overlap has ended, forget private keys no longer needed. */
  async sweep(): Promise<number> {
    const now = this.d.clock.now().getTime();
    const ended = (await this.d.store.keys.keys()).filter(
      (r) => r.status === "previous" && !inOverlap(r, now),
    );
    if (ended.length > 0)
      await this.d.ring.exclusive(() => this.endKeys(ended, "retire", "overlap-ended"));
    await this.forgetUnneeded();
    return ended.length;
  }

  private async replaceCurrent(o: {
    event: "rotate" | "revoke";
    at: string;
    oldStatus: "previous" | "revoked";
    retiresAt: string | null;
    logKind: "key-rotated" | "key-revoked";
  }): Promise<KeyEventResult> {
    const { ring, vault, store } = this.d;
    const old = ring.current;
    const oldFp = ring.fingerprint;
    const next = generateNodeKeys();
    const nextFp = jwkThumbprint(next.signing.publicJwk);
    const body: AnnouncementBody = {
      accord: "key-announcement/1",
      id: this.d.random.uuid(),
      node: this.d.nodeId,
      event: o.event,
      at: o.at,
      key: pairOf(old),
      successor: pairOf(next),
      ...(o.retiresAt === null ? {} : { valid_until: o.retiresAt }),
      signed_by: oldFp,
    };
    const text = JSON.stringify(
      await signAnnouncement(body, old.signing.privateKey, next.signing.privateKey),
    );
    const heldBefore = ring.held().map((h) => h.keys);
    // The old private keys are kept: to open envelopes in the overlap, and to sign the delivery
    // of this announcement (partners know only the old key until they have it).
    vault.saveHeld([...heldBefore, old]);
    vault.stageNext(next);
    let announced: string[];
    try {
      announced = await store.transaction(async (tx) => {
        const before = (await tx.keys.keys()).find((r) => r.fingerprint === oldFp);
        await tx.keys.putKey({
          ...(before ?? recordOf(old, "current", o.at)),
          status: o.oldStatus,
          retiresAt: o.retiresAt,
          endedAt: o.oldStatus === "revoked" ? o.at : null,
        });
        await tx.keys.putKey(recordOf(next, "current", o.at));
        const fps = {
          signing: oldFp,
          encryption: jwkThumbprint(old.encryption.publicJwk),
        };
        const nextFps = { signing: nextFp, encryption: jwkThumbprint(next.encryption.publicJwk) };
        await tx.ledger.append({
          kind: o.logKind,
          at: o.at,
          data:
            o.event === "rotate"
              ? {
                  ...nextFps,
                  previous: fps.signing,
                  previousEncryption: fps.encryption,
                  retiresAt: o.retiresAt,
                  announcement: body.id,
                }
              : {
                  ...fps,
                  replacement: nextFps.signing,
                  replacementEncryption: nextFps.encryption,
                  reason: "operator",
                  announcement: body.id,
                },
        });
        return this.enqueue(tx, o.event, text, oldFp, o.at);
      });
    } catch (e) {
      vault.discardNext();
      vault.saveHeld(heldBefore);
      throw e;
    }
    vault.commitNext();
    ring.rotate(next, o.oldStatus === "previous");
    return {
      event: o.event,
      current: nextFp,
      keys: [oldFp],
      ...(o.retiresAt === null ? {} : { retiresAt: o.retiresAt }),
      announced,
    };
  }

  /** Retire or revoke keys that are not current; announced (except an overlap's natural end). */
  private async endKeys(
    targets: readonly NodeKeyRecord[],
    event: "retire" | "revoke",
    reason: "operator" | "overlap-ended",
  ): Promise<KeyEventResult> {
    const { ring } = this.d;
    const at = this.nowIso();
    const signedBy = ring.fingerprint;
    const texts: string[] = [];
    const ids: string[] = [];
    for (const r of targets) {
      const id = this.d.random.uuid();
      ids.push(id);
      if (reason === "overlap-ended") continue;
      const body: AnnouncementBody = {
        accord: "key-announcement/1",
        id,
        node: this.d.nodeId,
        event,
        at,
        key: {
          signing: bare(parsePublicJwk(r.signingKey, "Ed25519")),
          encryption: bare(parsePublicJwk(r.encryptionKey, "X25519")),
        },
        signed_by: signedBy,
      };
      texts.push(JSON.stringify(await signAnnouncement(body, ring.signing.privateKey)));
    }
    const announced = await this.d.store.transaction(async (tx) => {
      const to = new Set<string>();
      for (const [i, r] of targets.entries()) {
        await tx.keys.putKey({
          ...r,
          status: event === "retire" ? "retired" : "revoked",
          endedAt: at,
        });
        await tx.ledger.append({
          kind: event === "retire" ? "key-retired" : "key-revoked",
          at,
          data: {
            signing: r.fingerprint,
            encryption: r.encryptionFingerprint,
            reason,
            ...(reason === "overlap-ended" ? {} : { announcement: ids[i] ?? null }),
          },
        });
      }
      for (const text of texts)
        for (const p of await this.enqueue(tx, event, text, signedBy, at)) to.add(p);
      return [...to].sort();
    });
    for (const r of targets) {
      const held = ring.find(r.fingerprint);
      if (held !== undefined) ring.hold(held, false);
    }
    return { event, current: signedBy, keys: targets.map((r) => r.fingerprint), announced };
  }

  private async enqueue(
    tx: Repos,
    kind: KeyAnnouncementRecord["kind"],
    body: string,
    signer: string,
    at: string,
  ): Promise<string[]> {
    const peers = await tx.peers.list();
    for (const p of peers)
      await tx.keys.enqueueAnnouncement({
        id: this.d.random.uuid(),
        recipient: p.nodeId,
        kind,
        body,
        signer,
        createdAt: at,
      });
    return peers.map((p) => p.nodeId);
  }

  /** Drop private keys that neither decrypt nor sign a pending announcement's delivery. */
  private async forgetUnneeded(): Promise<void> {
    const { ring, store, vault } = this.d;
    const pending = await store.keys.announcements({ status: "pending", limit: 10_000 });
    const signers = new Set(pending.map((a) => a.signer));
    let changed = false;
    for (const h of ring.held()) {
      const fp = jwkThumbprint(h.keys.signing.publicJwk);
      if (h.decrypts || signers.has(fp)) continue;
      ring.drop(fp);
      changed = true;
    }
    if (changed) vault.saveHeld(ring.held().map((h) => h.keys));
  }

  // ---------------------------------------------------------------- delivery of announcements

  /**
   * Deliver due announcements, oldest first, in order per partner: a partner's later
   * announcement waits until the earlier one is acknowledged. Failures back off like the outbox.
   */
  async deliverDue(): Promise<{ attempted: number; delivered: number }> {
    const transport = this.d.transport;
    if (transport === undefined) return { attempted: 0, delivered: 0 };
    const now = this.d.clock.now();
    const pending = await this.d.store.keys.announcements({ status: "pending", limit: 1000 });
    const blocked = new Set<string>();
    let attempted = 0;
    let delivered = 0;
    for (const a of pending) {
      if (blocked.has(a.recipient)) continue;
      blocked.add(a.recipient);
      if (Date.parse(a.nextAttemptAt) > now.getTime()) continue;
      attempted++;
      if (await this.deliverOne(transport, a)) {
        delivered++;
        blocked.delete(a.recipient);
      }
    }
    return { attempted, delivered };
  }

  private async deliverOne(
    transport: KeyAnnouncementTransport,
    a: KeyAnnouncementRecord,
  ): Promise<boolean> {
    const { store } = this.d;
    const peer = await store.peers.get(a.recipient);
    const keys = this.d.ring.find(a.signer);
    if (peer === undefined || keys === undefined) {
      await store.keys.settleAnnouncement(
        a.id,
        "refused",
        peer === undefined ? "not a partner any more" : "the key that signs it is no longer held",
      );
      return true;
    }
    const body = (JSON.parse(a.body) as Announcement).body;
    try {
      const answer = await transport.send(peer, a.body, {
        key: keys.signing.privateKey,
        keyId: a.signer,
      });
      const ok = await checkAck(
        (answer as { ack?: unknown } | null)?.ack,
        { id: body.id, by: peer.nodeId, node: this.d.nodeId },
        parsePublicJwk(peer.signingKey, "Ed25519"),
      );
      if (!ok)
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          "the partner's acknowledgement does not verify under its key",
        );
      const at = this.nowIso();
      await store.transaction(async (tx) => {
        if (await tx.keys.settleAnnouncement(a.id, "delivered", null))
          await tx.ledger.append({
            kind: "key-announcement-acknowledged",
            at,
            data: { announcement: body.id, event: body.event, partner: peer.nodeId },
          });
      });
      return true;
    } catch (e) {
      const code = e instanceof AccordError ? e.code : "ERR_PEER_UNAVAILABLE";
      // The shared schedule of every outbox (src/app/retry.ts), jitter included.
      const next = nextAttemptAt(this.d.clock.now(), a.attempts, this.d.random.bytes(1)[0] ?? 0);
      await store.keys.failAnnouncement(a.id, code, next);
      this.d.logger.warn(
        { announcement: body.id, recipient: a.recipient, code, attempts: a.attempts + 1 },
        "key announcement not delivered",
      );
      return false;
    }
  }

  // ---------------------------------------------------------------- a partner's announcement

  /**
   * An announcement from partner `from` (its request signature already checked): verify it against
   * the key pinned for `from`, apply it, log it, and return the signed acknowledgement.
   */
  async receive(from: string, raw: unknown): Promise<{ ack: unknown; applied: boolean }> {
    const { store } = this.d;
    const at = this.nowIso();
    let a: Announcement;
    try {
      a = parseAnnouncement(raw);
      if (a.body.node !== from)
        throw new AccordError(
          "ERR_FORBIDDEN",
          `the announcement is about \`${a.body.node}\`, but \`${from}\` sent it`,
        );
    } catch (e) {
      if (e instanceof AccordError) await this.logRefused(from, undefined, e.message, at);
      throw e;
    }
    const peer = await store.peers.get(from);
    if (peer === undefined)
      throw new AccordError("ERR_UNKNOWN_PARTNER", `\`${from}\` is not a partner`);
    const pinned = parsePublicJwk(peer.signingKey, "Ed25519");
    const ack = async (): Promise<unknown> =>
      signAck(
        {
          accord: "key-announcement-ack/1",
          id: a.body.id,
          by: this.d.nodeId,
          node: from,
          at,
        } satisfies AckBody,
        this.d.ring.signing.privateKey,
      );
    if (await this.alreadyApplied(a, pinned)) return { ack: await ack(), applied: false };
    const revoked = await this.revokedSet();
    let reason = await checkAnnouncement(a, pinned);
    const succ = a.body.successor;
    if (
      reason === undefined &&
      succ !== undefined &&
      revoked.has(`${from} ${jwkThumbprint(succ.signing)}`)
    )
      reason = "its successor is a key that was revoked";
    if (reason !== undefined) {
      await this.logRefused(from, a, reason, at);
      throw new AccordError("ERR_SIGNATURE_INVALID", `the key announcement is refused: ${reason}`);
    }
    await store.transaction((tx) => this.apply(tx, a, peer, at));
    return { ack: await ack(), applied: true };
  }

  private async apply(tx: Repos, a: Announcement, peer: Peer, at: string): Promise<void> {
    const { body } = a;
    const node = peer.nodeId;
    const keyFp = jwkThumbprint(body.key.signing);
    const asPrevious = (retiresAt: string) =>
      tx.peerKeys.add({
        nodeId: node,
        fingerprint: keyFp,
        signingKey: { ...body.key.signing },
        encryptionKey: { ...body.key.encryption },
        retiresAt,
      });
    const succ = body.successor;
    if (succ !== undefined) {
      await tx.peers.upsert({
        ...peer,
        signingKey: { ...succ.signing },
        encryptionKey: { ...succ.encryption },
      });
    }
    const succFps =
      succ === undefined
        ? {}
        : { signing: jwkThumbprint(succ.signing), encryption: jwkThumbprint(succ.encryption) };
    if (body.event === "rotate") {
      // The partner's overlap, but never longer than this node grants.
      const cap = Date.parse(at) + MAX_OVERLAP_MS;
      const until = Math.min(Date.parse(body.valid_until ?? at), cap);
      const retiresAt = new Date(until).toISOString();
      await asPrevious(retiresAt);
      await tx.ledger.append({
        kind: "peer-key-rotated",
        at,
        data: { node, previous: keyFp, ...succFps, retiresAt, announcement: body.id },
      });
      return;
    }
    await asPrevious(at);
    if (body.event === "revoke") {
      await tx.keys.revokePeerKey({ nodeId: node, fingerprint: keyFp, revokedAt: at });
      await tx.ledger.append({
        kind: "peer-key-revoked",
        at,
        data: {
          node,
          revoked: keyFp,
          ...(succ === undefined ? {} : { replacement: succFps.signing ?? null }),
          announcement: body.id,
        },
      });
      return;
    }
    await tx.ledger.append({
      kind: "peer-key-retired",
      at,
      data: { node, retired: keyFp, announcement: body.id },
    });
  }

  /** Redelivery of an announcement already applied (its acknowledgement was lost). */
  private async alreadyApplied(a: Announcement, pinned: PublicJwk): Promise<boolean> {
    const { body } = a;
    const pinnedFp = jwkThumbprint(pinned);
    const keyFp = jwkThumbprint(body.key.signing);
    if (body.successor !== undefined)
      return (
        jwkThumbprint(body.successor.signing) === pinnedFp &&
        (await checkAnnouncement({ ...a, body: { ...body } }, body.key.signing)) === undefined
      );
    if (body.event === "revoke") return (await this.revokedSet()).has(`${body.node} ${keyFp}`);
    const now = this.d.clock.now().toISOString();
    const history = await this.d.store.keys.peerKeyHistory();
    const active = await this.d.store.peerKeys.active(now);
    const known = (list: readonly { nodeId: string; fingerprint: string }[]) =>
      list.some((k) => k.nodeId === body.node && k.fingerprint === keyFp);
    return known(history) && !known(active);
  }

  private async logRefused(
    from: string,
    a: Announcement | undefined,
    reason: string,
    at: string,
  ): Promise<void> {
    await this.d.store.ledger.append({
      kind: "key-announcement-refused",
      at,
      data: {
        node: from,
        announcement: a?.body.id ?? null,
        event: a?.body.event ?? null,
        signedBy: a?.body.signed_by ?? null,
        reason: reason.slice(0, 300),
      },
    });
    this.d.logger.warn({ partner: from, reason }, "key announcement refused");
  }

  private async revokedSet(): Promise<Set<string>> {
    return new Set(
      (await this.d.store.keys.revokedPeerKeys()).map((r) => `${r.nodeId} ${r.fingerprint}`),
    );
  }

  private nowIso(): string {
    return this.d.clock.now().toISOString();
  }

  // ---------------------------------------------------------------- what others read

  /**
   * The key members the node descriptor adds: `previous` (keys still valid in their overlap) and
   * `key_history` (every signing key this node has had, for `accord log verify`).
   */
  async descriptorKeys(): Promise<Record<string, unknown>> {
    const now = this.d.clock.now().getTime();
    const records = await this.d.store.keys.keys();
    return {
      previous: records
        .filter((r) => inOverlap(r, now))
        .map((r) => ({
          signing: bare(parsePublicJwk(r.signingKey, "Ed25519")),
          encryption: bare(parsePublicJwk(r.encryptionKey, "X25519")),
          valid_until: r.retiresAt,
        })),
      key_history: records.map((r) => ({
        fingerprint: r.fingerprint,
        signing: bare(parsePublicJwk(r.signingKey, "Ed25519")),
        status: r.status,
        activated_at: r.activatedAt,
        ...(r.retiresAt === null ? {} : { retires_at: r.retiresAt }),
        ...(r.endedAt === null ? {} : { ended_at: r.endedAt }),
      })),
    };
  }
}

/**
 * A partner's signing key for an envelope it sealed (app/node.ts `receive`): the pinned key, or
 * with `kid` one of its previous keys still inside its overlap and never revoked.
 */
export async function partnerSigningKey(
  store: Pick<Store, "peerKeys" | "keys">,
  peer: Peer,
  kid: string | undefined,
  now: Date,
): Promise<PublicJwk | undefined> {
  const pinned = parsePublicJwk(peer.signingKey, "Ed25519");
  if (kid === undefined || kid === jwkThumbprint(pinned)) return pinned;
  const revoked = (await store.keys.revokedPeerKeys()).some(
    (r) => r.nodeId === peer.nodeId && r.fingerprint === kid,
  );
  if (revoked) return undefined;
  const prev = (await store.peerKeys.active(now.toISOString())).find(
    (k) => k.nodeId === peer.nodeId && k.fingerprint === kid,
  );
  return prev === undefined ? undefined : parsePublicJwk(prev.signingKey, "Ed25519");
}

/** Refuse to pin a partner key that partner revoked (app/node.ts `addPeer`). */
export async function assertNotRevoked(
  tx: Pick<Repos, "keys">,
  nodeId: string,
  fingerprint: string,
): Promise<void> {
  const revoked = (await tx.keys.revokedPeerKeys()).some(
    (r) => r.nodeId === nodeId && r.fingerprint === fingerprint,
  );
  if (revoked)
    throw new AccordError(
      "ERR_SIGNATURE_INVALID",
      `\`${nodeId}\` presents key ${fingerprint}, which it revoked; it is never pinned again`,
    );
}

/**
 * Every signing key known for each node (this node's own and its partners', current and earlier),
 * with the time of its revocation when it was revoked: agreement signatures made with an earlier
 * key stay valid after a rotation (spec/agreement.md, "Keys").
 */
export async function signingKeyHistory(
  store: Pick<Store, "peers" | "peerKeys" | "keys">,
  self: { readonly nodeId: string; readonly current: PublicJwk },
): Promise<Map<string, KnownSigningKey[]>> {
  const out = new Map<string, KnownSigningKey[]>();
  const add = (node: string, jwk: unknown, revokedAt?: string | null): void => {
    let k: PublicJwk;
    try {
      k = parsePublicJwk(jwk, "Ed25519");
    } catch {
      return; // a malformed stored key verifies nothing
    }
    const fingerprint = jwkThumbprint(k);
    const list = out.get(node) ?? [];
    if (list.some((x) => x.fingerprint === fingerprint)) return;
    list.push({ jwk: k, fingerprint, ...(revokedAt == null ? {} : { revokedAt }) });
    out.set(node, list);
  };
  add(self.nodeId, self.current);
  for (const r of await store.keys.keys())
    add(self.nodeId, r.signingKey, r.status === "revoked" ? (r.endedAt ?? "") : null);
  const revoked = new Map(
    (await store.keys.revokedPeerKeys()).map((r) => [`${r.nodeId} ${r.fingerprint}`, r.revokedAt]),
  );
  for (const p of await store.peers.list()) add(p.nodeId, p.signingKey);
  for (const k of await store.keys.peerKeyHistory())
    add(k.nodeId, k.signingKey, revoked.get(`${k.nodeId} ${k.fingerprint}`));
  return out;
}

function pairOf(keys: NodeKeys): { signing: PublicJwk; encryption: PublicJwk } {
  return { signing: bare(keys.signing.publicJwk), encryption: bare(keys.encryption.publicJwk) };
}

function recordOf(keys: NodeKeys, status: NodeKeyRecord["status"], at: string): NodeKeyRecord {
  return {
    fingerprint: jwkThumbprint(keys.signing.publicJwk),
    encryptionFingerprint: jwkThumbprint(keys.encryption.publicJwk),
    signingKey: { ...bare(keys.signing.publicJwk) },
    encryptionKey: { ...bare(keys.encryption.publicJwk) },
    status,
    activatedAt: at,
    retiresAt: null,
    endedAt: null,
  };
}

function inOverlap(r: NodeKeyRecord, now: number): boolean {
  return r.status === "previous" && r.retiresAt !== null && Date.parse(r.retiresAt) > now;
}

/** Parse an overlap such as `7d`, `36h`, `90m` or `0s` into milliseconds. */
export function parseOverlap(text: string): number {
  const m = /^(\d{1,6})([smhd])$/.exec(text);
  if (m === null)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `the overlap \`${text.slice(0, 40)}\` is not a duration such as \`7d\`, \`36h\` or \`90m\``,
    );
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
