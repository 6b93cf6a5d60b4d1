/**
 * Recall, correction and retention (VISION C8; spec/recall.md).
 *
 *   issue:    only the originator; the notice is signed once by the originator (detached JWS over
 *             its RFC 8785 form) and sealed per recipient into the recall outbox, one target per
 *             node that holds a copy (from the share transaction's record of who got what)
 *   deliver:  recall outbox -> POST /federation/v1/recalls -> the recipient's signed
 *             acknowledgement, verified with its pinned key -> target acknowledged + log entry
 *   receive:  open the envelope from a pinned partner -> verify the originator's signature ->
 *             every copy held must name that originator (else refused, nothing changed) -> purge
 *             (recall) or purge older versions (correction) + relay to every node this one passed
 *             the object on to + log, in one transaction -> signed acknowledgement
 *   report:   a relaying node sends the acknowledgements it collects downstream back upstream
 *   purge:    versions whose retention deadline has passed are removed and each removal logged
 *
 * A correction's new version travels through the ordinary share path (`AccordNode.share`, with
 * its decision, minimization and receipts); the notice only tells recipients to drop the older
 * versions. Everything a peer sends is attacker-controlled until its signatures verify, and its
 * shape is checked after. Log entries carry ids, counts and digests only, never contents or the
 * text of a reason (only its keyed digest).
 */
import { AccordError } from "../errors.js";
import { versionOf } from "../core/stix/object.js";
import { parseRfc3339 } from "../crypto/rfc3339.js";
import { sha256Hex } from "../crypto/hash.js";
import type { LogDigests } from "../core/log-digest.js";
import { parsePublicJwk, type NodeKeys, type PublicJwk } from "../crypto/keys.js";
import { openEnvelope, peekEnvelope, sealEnvelope, type Envelope } from "../crypto/envelope.js";
import { signJson, signatureKeyId, verifyJson } from "../crypto/sign.js";
import { isNodeId, isUuid } from "../crypto/fields.js";
import { ENVELOPE_MAX_AGE_SECONDS, type AccordNode, type PreparedShare } from "./node.js";
import { nextAttemptAt } from "./retry.js";
import { partnerSigningKey } from "./key-rotation.js";
import type {
  Clock,
  Logger,
  Peer,
  Random,
  RecallKind,
  RecallMessage,
  RecallRecord,
  RecallTarget,
  Repos,
  SharedCopy,
  Store,
  StoredObject,
} from "./ports.js";

/** The payload media type of a sealed recall or correction notice. */
export const RECALL_CONTENT_TYPE = "application/accord-recall+json";
/** The payload media type of a relaying node's report of downstream acknowledgements. */
export const RECALL_REPORT_CONTENT_TYPE = "application/accord-recall-report+json";
export const NOTICE_TYPE = "accord-recall-notice/1";
export const ACK_TYPE = "accord-recall-ack/1";
const MAX_REASON = 1000;
const MAX_IDS = 100;
const MAX_ID_CHARS = 300;

/** Targets for copies read through TAXII are named `taxii:<credential id>`. */
export const TAXII_TARGET_PREFIX = "taxii:";

/** A notice on its way to one target (a sealed envelope for a node; none for a TAXII credential). */
interface Outgoing {
  readonly recipient: string;
  readonly id: string;
  readonly envelope: string | null;
  /** The TAXII credential this target stands for, or null for a node. */
  readonly credential: string | null;
  readonly heldAs: readonly string[];
  readonly partner?: string;
}

/** How this node reaches a partner's recall endpoint (federation's HTTP client implements it). */
export interface RecallTransport {
  /**
   * POST a sealed recall message; resolves with the partner's JSON answer (attacker-controlled).
   * Throws ERR_PEER_UNAVAILABLE when the partner cannot be reached or answers 5xx (retry later);
   * any other code when the partner refused the message (final).
   */
  send(peer: Peer, envelope: string): Promise<unknown>;
}

export interface RecallDeps {
  readonly node: Pick<AccordNode, "id" | "prepareShare">;
  readonly keys: NodeKeys;
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: RecallTransport;
  readonly logger: Logger;
  /**
   * The node's keyed log digests (spec/log.md, "Keyed digests"): a recall's reason is logged as
   * its keyed digest, never as a plain SHA-256 a partner could confirm a guess against.
   */
  readonly logDigests: LogDigests;
}

export interface NoticeClaims {
  readonly type: typeof NOTICE_TYPE;
  readonly recall: string;
  readonly kind: RecallKind;
  readonly originator: string;
  /** The object's id at the originator. */
  readonly object: string;
  /** correction: the version that replaces every older one. */
  readonly replacement: string | null;
  readonly reason: string;
  readonly issued_at: string;
}

export interface SignedNotice {
  readonly claims: NoticeClaims;
  /** Detached compact JWS by the originator over the RFC 8785 form of `claims`. */
  readonly signature: string;
}

export type AckOutcome = "purged" | "replaced" | "not-held";

export interface AckClaims {
  readonly type: typeof ACK_TYPE;
  readonly recall: string;
  readonly originator: string;
  /** The node acknowledging. */
  readonly node: string;
  /** The node it acknowledges to (the one that delivered the notice). */
  readonly to: string;
  readonly outcome: AckOutcome;
  /** The ids the object was held under here. */
  readonly held_as: readonly string[];
  /** Versions removed. */
  readonly purged: number;
  /** Nodes this node had passed the object on to, to which it relays the notice. */
  readonly forwarded_to: readonly string[];
  readonly at: string;
}

export interface SignedAck {
  readonly claims: AckClaims;
  readonly signature: string;
}

export interface RecallStatus {
  readonly id: string;
  readonly object: string;
  readonly kind: RecallKind;
  readonly originator: string;
  readonly role: "issued" | "received";
  readonly reason: string;
  readonly issuedAt: string;
  readonly targets: readonly (Omit<RecallTarget, "ack"> & { readonly ack: SignedAck | null })[];
  /** Targets whose acknowledgement is not in yet (nodes, and `taxii:<credential>` targets). */
  readonly outstanding: readonly string[];
  /**
   * TAXII credentials that read a copy and cannot be sent a notice, still to be told by other
   * means (then `confirm`ed by the operator, or covered by their partner node's acknowledgement).
   */
  readonly otherMeans: readonly string[];
  readonly acknowledged: number;
  readonly refused: number;
  readonly complete: boolean;
}

export interface PurgeReport {
  readonly purged: number;
  readonly versions: readonly { readonly id: string; readonly version: string }[];
}

export interface OnwardRefusal {
  readonly seq: number;
  readonly at: string;
  readonly object: string;
  readonly originator: string;
  readonly partner: string;
  readonly purpose: string;
  /** The clause paths that refused it (the log keeps paths, never messages). */
  readonly clauses: readonly string[];
}

export class RecallService {
  private readonly d: RecallDeps;

  constructor(deps: RecallDeps) {
    this.d = deps;
  }

  private get self(): string {
    return this.d.node.id;
  }

  // ---------------------------------------------------------------- issue (originator)

  /**
   * Recall an object this node originated (every holder purges it; so does this node), or
   * correct it (every holder of an older version gets the latest version through the share path
   * and drops the older ones).
   */
  async issue(req: {
    objectId: string;
    kind?: RecallKind;
    reason?: string;
  }): Promise<RecallStatus> {
    const kind = req.kind ?? "recall";
    const reason = (req.reason ?? "").trim();
    if (reason.length > MAX_REASON)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the reason is longer than ${MAX_REASON} characters`,
      );
    const held = await this.d.store.objects.get(req.objectId);
    if (held === undefined)
      throw new AccordError("ERR_NOT_FOUND", `no object \`${req.objectId}\` is stored here`);
    if (held.provenance.originator !== this.self)
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `only the originator \`${held.provenance.originator}\` may recall or correct \`${req.objectId}\``,
      );
    const latest = versionOf(held.object);
    const all = await this.d.store.recalls.copiesOf(req.objectId);
    // A correction goes to every recipient whose newest copy is older than the latest version.
    const stale = new Set(
      [...newestByRecipient(all)].filter(([, v]) => isOlder(v, latest)).map(([r]) => r),
    );
    const copies = kind === "recall" ? all : all.filter((c) => stale.has(c.recipient));
    if (kind === "correction" && copies.length === 0)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `every partner already holds the latest version of \`${req.objectId}\`; ingest the corrected version first`,
      );

    const at = this.nowIso();
    const claims: NoticeClaims = {
      type: NOTICE_TYPE,
      recall: this.d.random.uuid(),
      kind,
      originator: this.self,
      object: req.objectId,
      replacement: kind === "correction" ? latest : null,
      reason,
      issued_at: at,
    };
    const notice: SignedNotice = {
      claims,
      signature: await signJson(claims, this.d.keys.signing.privateKey),
    };

    // A correction's new version goes out through the one outbound gate, in the same
    // transaction as the recall: both are written, or neither.
    const shares = kind === "correction" ? await this.prepareCorrection(copies, req.objectId) : [];
    const messages = await this.sealFor(notice, copies);
    const older =
      kind === "correction"
        ? (await this.d.store.objects.versions(req.objectId)).filter((v) =>
            isOlder(versionOf(v.object), latest),
          )
        : [];
    await this.d.store.transaction(async (tx) => {
      for (const share of shares) await share.write(tx);
      await tx.recalls.putRecall({
        id: claims.recall,
        objectId: req.objectId,
        kind,
        originator: this.self,
        role: "issued",
        issuedAt: at,
        notice: JSON.stringify(notice),
        receivedFrom: null,
        ack: null,
        recordedAt: at,
      });
      await this.queue(tx, claims.recall, messages, at);
      // The originator's own copy goes too (a recall), or its older versions (a correction), so
      // no share or TAXII collection serves them again.
      let purgedHere = 0;
      if (kind === "recall") purgedHere = await tx.objects.purge(req.objectId);
      for (const v of older)
        purgedHere += await tx.objects.purge(req.objectId, versionOf(v.object));
      await tx.ledger.append({
        kind: "recall",
        at,
        data: {
          recall: claims.recall,
          kind,
          object: req.objectId,
          replacement: claims.replacement,
          recipients: messages.filter((m) => m.credential === null).map((m) => m.recipient),
          unreachable: messages
            .filter((m) => m.envelope === null && m.credential === null)
            .map((m) => m.recipient),
          otherMeans: messages.filter((m) => m.credential !== null).map((m) => m.recipient),
          purgedHere,
          reasonHmac: this.d.logDigests.text("recall-reason", reason),
        },
      });
    });
    return this.status(claims.recall);
  }

  /**
   * The correction's share of the new version to each partner node holding an older one, under
   * the agreement and purpose of its copy; decided and sealed here, written by the caller.
   */
  private async prepareCorrection(
    copies: readonly SharedCopy[],
    objectId: string,
  ): Promise<PreparedShare[]> {
    const groups = new Map<string, { recipient: string; purpose: string; agreement: string }>();
    for (const c of copies) {
      if ((await this.d.store.peers.get(c.recipient)) === undefined) continue;
      const agreement = c.agreement.replace(/ v\d+$/, "");
      groups.set(`${c.recipient}\n${c.purpose}\n${agreement}`, {
        recipient: c.recipient,
        purpose: c.purpose,
        agreement,
      });
    }
    const out: PreparedShare[] = [];
    for (const g of groups.values())
      out.push(
        ...(await this.d.node.prepareShare({
          recipients: [g.recipient],
          purpose: g.purpose,
          agreementId: g.agreement,
          objectIds: [objectId],
        })),
      );
    return out;
  }

  /**
   * Seal the notice for every partner node holding a copy (those no longer partners get no
   * envelope), and name every TAXII credential that read one: no notice can be pushed to a TAXII
   * client, so the operator tells its holder by other means (spec/recall.md, "Copies read by
   * TAXII").
   */
  private async sealFor(notice: SignedNotice, copies: readonly SharedCopy[]): Promise<Outgoing[]> {
    const out: Outgoing[] = [];
    for (const [recipient, heldAs] of heldAsByRecipient(copies)) {
      const id = this.d.random.uuid();
      const peer = await this.d.store.peers.get(recipient);
      const byTaxiiOnly = copies.every((c) => c.recipient !== recipient || isTaxiiCopy(c));
      if (peer === undefined) {
        // Read by TAXII only, by a holder that is not an Accord node: its credential target says so.
        if (!byTaxiiOnly) out.push({ recipient, id, envelope: null, credential: null, heldAs });
        continue;
      }
      const payload = { notice, held_as: heldAs };
      const envelope = await sealEnvelope(
        {
          id,
          sender: this.self,
          recipient,
          createdAt: this.nowIso(),
          contentType: RECALL_CONTENT_TYPE,
        },
        new TextEncoder().encode(JSON.stringify(payload)),
        this.d.keys.signing.privateKey,
        parsePublicJwk(peer.encryptionKey, "X25519"),
      );
      out.push({ recipient, id, envelope, credential: null, heldAs });
    }
    for (const [credential, c] of copiesByCredential(copies))
      out.push({
        recipient: `${TAXII_TARGET_PREFIX}${credential}`,
        id: this.d.random.uuid(),
        envelope: null,
        credential,
        heldAs: c.heldAs,
        partner: c.partner,
      });
    return out;
  }

  /**
   * A target per recipient: a queued message for each sealed notice (this node sends it, `via`
   * null); `refused` for a node no longer a partner; `pending` with `notify: "other-means"` for a
   * TAXII credential, until its partner node acknowledges holding the object or the operator
   * confirms (`confirm`).
   */
  private async queue(
    tx: Repos,
    recallId: string,
    messages: readonly Outgoing[],
    at: string,
  ): Promise<void> {
    const via = null;
    for (const m of messages) {
      if (m.credential !== null) {
        await tx.recalls.putTarget({
          recallId,
          recipient: m.recipient,
          via,
          status: "pending",
          ack: null,
          detail: {
            channel: "taxii",
            notify: "other-means",
            credential: m.credential,
            partner: m.partner ?? null,
            heldAs: [...m.heldAs],
          },
          updatedAt: at,
        });
        continue;
      }
      if (m.envelope === null) {
        await tx.recalls.putTarget({
          recallId,
          recipient: m.recipient,
          via,
          status: "refused",
          ack: null,
          detail: { code: "ERR_UNKNOWN_PARTNER", message: "no longer a known partner" },
          updatedAt: at,
        });
        continue;
      }
      await tx.recalls.putTarget({
        recallId,
        recipient: m.recipient,
        via,
        status: "pending",
        ack: null,
        detail: null,
        updatedAt: at,
      });
      await tx.recalls.enqueue({
        id: m.id,
        recallId,
        recipient: m.recipient,
        kind: "notice",
        envelope: m.envelope,
        createdAt: at,
      });
    }
  }

  /**
   * The operator's word that the holder of a TAXII credential was told by other means and
   * removed the object: the credential's target is closed and the confirmation logged.
   */
  async confirm(recallId: string, recipient: string): Promise<RecallStatus> {
    const target = (await this.d.store.recalls.targets(recallId)).find(
      (t) => t.recipient === recipient,
    );
    if (target === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `recall \`${recallId}\` has no target \`${recipient}\``,
      );
    if (target.detail?.notify !== "other-means")
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`${recipient}\` is an Accord node: only its signed acknowledgement closes its target`,
      );
    const at = this.nowIso();
    if (target.status === "pending")
      await this.d.store.transaction(async (tx) => {
        await tx.recalls.putTarget({
          ...target,
          status: "acknowledged",
          detail: { ...target.detail, confirmedBy: "operator", confirmedAt: at },
          updatedAt: at,
        });
        await tx.ledger.append({
          kind: "recall-confirmed",
          at,
          data: { recall: recallId, recipient, channel: "taxii" },
        });
      });
    return this.status(recallId);
  }

  // ---------------------------------------------------------------- deliver

  /** Push every due recall message; failures back off exponentially (capped at one hour). */
  async deliverDue(limit = 50): Promise<{ attempted: number; delivered: number; failed: number }> {
    const due = await this.d.store.recalls.due(this.nowIso(), limit);
    let delivered = 0;
    for (const m of due) {
      try {
        const peer = await this.d.store.peers.get(m.recipient);
        if (peer === undefined)
          throw new AccordError("ERR_UNKNOWN_PARTNER", `\`${m.recipient}\` is not a known partner`);
        const answer = await this.d.transport.send(peer, m.envelope);
        if (m.kind === "notice") await this.acknowledged(m, peer, answer);
        else await this.d.store.recalls.settle(m.id, "delivered", null);
        delivered++;
      } catch (e) {
        await this.deliveryFailed(m, e);
      }
    }
    return { attempted: due.length, delivered, failed: due.length - delivered };
  }

  /**
   * True iff `jws` is `peer`'s signature over `value` under the key its header names: the pinned
   * key, or a previous key still inside its rotation overlap and never revoked (a notice or an
   * acknowledgement signed before a rotation, delivered or returned again after it).
   */
  private async signedBy(peer: Peer, jws: string, value: unknown): Promise<boolean> {
    let key: PublicJwk | undefined;
    try {
      key = await partnerSigningKey(this.d.store, peer, signatureKeyId(jws), this.d.clock.now());
    } catch {
      return false; // a malformed stored key verifies nothing
    }
    return key !== undefined && verifyJson(jws, value, key);
  }

  private async acknowledged(m: RecallMessage, peer: Peer, answer: unknown): Promise<void> {
    const ack = parseAck((answer as { ack?: unknown } | null)?.ack);
    if (
      ack?.claims.recall !== m.recallId ||
      ack.claims.node !== peer.nodeId ||
      ack.claims.to !== this.self ||
      !(await this.signedBy(peer, ack.signature, ack.claims))
    )
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the acknowledgement from \`${peer.nodeId}\` does not verify or does not match the notice`,
      );
    const at = this.nowIso();
    const recall = await this.d.store.recalls.getRecall(m.recallId);
    const targets = await this.d.store.recalls.targets(m.recallId);
    const known = new Set(targets.map((t) => t.recipient));
    // The partner node held what it was sent: the TAXII credentials it read them with are covered.
    const covered =
      ack.claims.outcome === "not-held"
        ? []
        : targets.filter(
            (t) =>
              t.status === "pending" &&
              t.detail?.notify === "other-means" &&
              t.detail.partner === peer.nodeId &&
              asStrings(t.detail.heldAs).every((id) => ack.claims.held_as.includes(id)),
          );
    let report: { id: string; recipient: string; envelope: string } | undefined;
    if (recall?.role === "received" && recall.receivedFrom !== null)
      report = await this.sealReport(recall.receivedFrom, m.recallId, [ack]);
    await this.d.store.transaction(async (tx) => {
      if (!(await tx.recalls.settle(m.id, "delivered", null))) return;
      await tx.recalls.putTarget(ackTarget(m.recallId, ack, null, at));
      for (const t of covered)
        await tx.recalls.putTarget({
          ...t,
          status: "acknowledged",
          detail: { ...t.detail, coveredBy: peer.nodeId },
          updatedAt: at,
        });
      for (const next of ack.claims.forwarded_to)
        if (!known.has(next) && next !== this.self)
          await tx.recalls.putTarget({
            recallId: m.recallId,
            recipient: next,
            via: peer.nodeId,
            status: "pending",
            ack: null,
            detail: null,
            updatedAt: at,
          });
      if (report !== undefined)
        await tx.recalls.enqueue({
          ...report,
          recallId: m.recallId,
          kind: "report",
          createdAt: at,
        });
      await tx.ledger.append({
        kind: "recall-ack",
        at,
        data: {
          recall: m.recallId,
          from: peer.nodeId,
          via: null,
          outcome: ack.claims.outcome,
          purged: ack.claims.purged,
          forwardedTo: [...ack.claims.forwarded_to],
          ackDigest: sha256Hex(JSON.stringify(ack)),
        },
      });
    });
  }

  private async deliveryFailed(m: RecallMessage, e: unknown): Promise<void> {
    const code = e instanceof AccordError ? e.code : "ERR_PEER_UNAVAILABLE";
    const message = e instanceof Error ? e.message.slice(0, 300) : "failed";
    const at = this.nowIso();
    if (code === "ERR_PEER_UNAVAILABLE") {
      const next = nextAttemptAt(this.d.clock.now(), m.attempts, this.d.random.bytes(1)[0] ?? 0);
      await this.d.store.recalls.markFailed(m.id, code, next);
      this.d.logger.warn(
        { recall: m.recallId, recipient: m.recipient, code, attempts: m.attempts + 1, next },
        "recall delivery failed",
      );
      return;
    }
    // A refusal is final: the target shows it, and the log says so.
    await this.d.store.transaction(async (tx) => {
      if (!(await tx.recalls.settle(m.id, "refused", code))) return;
      if (m.kind === "notice") {
        const prior = (await tx.recalls.targets(m.recallId)).find(
          (t) => t.recipient === m.recipient,
        );
        await tx.recalls.putTarget({
          recallId: m.recallId,
          recipient: m.recipient,
          via: prior?.via ?? null,
          status: "refused",
          ack: null,
          detail: { code, message },
          updatedAt: at,
        });
      }
      await tx.ledger.append({
        kind: "recall-refused",
        at,
        data: { recall: m.recallId, recipient: m.recipient, message: m.kind, code },
      });
    });
  }

  // ---------------------------------------------------------------- receive (recipient)

  /**
   * Act on a sealed recall message from a partner: a notice (purge, relay, acknowledge) or a
   * report of downstream acknowledgements. The envelope is attacker-controlled until it opens
   * with the sender's pinned key; nothing is written unless every check passes.
   */
  async receive(envelope: Envelope): Promise<{ ack: SignedAck } | { received: number }> {
    const header = peekEnvelope(envelope);
    if (header.recipient !== this.self)
      throw new AccordError(
        "ERR_ENVELOPE_INVALID",
        `the envelope is addressed to \`${header.recipient}\`, not to this node`,
      );
    const sender = await this.d.store.peers.get(header.sender);
    if (sender === undefined)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `\`${header.sender}\` is not a known partner of \`${this.self}\``,
      );
    const opened = await openEnvelope(envelope, {
      recipientKeys: this.d.keys,
      expectedRecipient: this.self,
      // The pinned key, or a previous one inside its rotation overlap and never revoked: a
      // notice sealed before the sender rotated still opens (spec/federation.md "Key rotation").
      senderKey: (s, kid) =>
        s === sender.nodeId
          ? partnerSigningKey(this.d.store, sender, kid, this.d.clock.now())
          : Promise.resolve(undefined),
      now: this.d.clock.now(),
      maxSkewSeconds: ENVELOPE_MAX_AGE_SECONDS,
    });
    let payload: unknown;
    try {
      payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(opened.payload));
    } catch {
      throw new AccordError("ERR_MALFORMED_INPUT", "the recall message is not JSON");
    }
    if (opened.header.contentType === RECALL_CONTENT_TYPE)
      return { ack: await this.applyNotice(sender, payload) };
    if (opened.header.contentType === RECALL_REPORT_CONTENT_TYPE)
      return { received: await this.applyReport(sender, payload) };
    throw new AccordError(
      "ERR_UNSUPPORTED_MEDIA_TYPE",
      `content type \`${opened.header.contentType}\` is not accepted at the recall endpoint`,
    );
  }

  private async applyNotice(sender: Peer, payload: unknown): Promise<SignedAck> {
    const p = payload as { notice?: unknown; held_as?: unknown } | null;
    const notice = parseNotice(p?.notice);
    const heldAs = parseIds(p?.held_as);
    if (notice === undefined || heldAs === undefined)
      throw new AccordError("ERR_MALFORMED_INPUT", "the recall notice is malformed");
    const c = notice.claims;
    if (c.originator === this.self)
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `\`${c.object}\` was originated here; no other node may recall it`,
      );

    // The originator's signature, when this node knows the originator's key. A relayed notice
    // from an originator this node has never met rests on the relaying node's envelope signature.
    const originator =
      c.originator === sender.nodeId ? sender : await this.d.store.peers.get(c.originator);
    if (originator !== undefined && !(await this.signedBy(originator, notice.signature, c)))
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the notice is not signed by its originator \`${c.originator}\``,
      );

    const previous = await this.d.store.recalls.getRecall(c.recall);
    if (previous !== undefined) {
      if (previous.role === "received" && previous.ack !== null) {
        const ack = parseAck(JSON.parse(previous.ack));
        if (ack?.claims.to === sender.nodeId) return ack;
        if (ack !== undefined) return this.signAck({ ...ack.claims, to: sender.nodeId });
      }
      throw new AccordError("ERR_REPLAY", `recall \`${c.recall}\` was already recorded here`);
    }

    // Only the originator may recall: every copy held must name it, and arrive from the sender
    // (directly from the originator, or relayed by the node that passed it on to us).
    const held: StoredObject[] = [];
    for (const id of heldAs) held.push(...(await this.d.store.objects.versions(id)));
    for (const h of held) {
      if (h.provenance.originator !== c.originator)
        throw new AccordError(
          "ERR_POLICY_DENIED",
          `only the originator \`${h.provenance.originator}\` may recall \`${h.object.id}\`; \`${c.originator}\` is not`,
        );
      if (h.provenance.receivedFrom !== sender.nodeId && c.originator !== sender.nodeId)
        throw new AccordError(
          "ERR_POLICY_DENIED",
          `\`${sender.nodeId}\` did not pass \`${h.object.id}\` to this node, so it cannot relay its recall`,
        );
    }
    const toPurge = held.filter(
      (h) => c.kind === "recall" || isOlder(versionOf(h.object), c.replacement ?? ""),
    );
    const keepsReplacement = held.some((h) => versionOf(h.object) === c.replacement);

    // Relay to every node this one passed a copy on to (an onward hop), except the way back.
    const downstream: SharedCopy[] = [];
    for (const id of heldAs)
      for (const copy of await this.d.store.recalls.copiesOf(id))
        if (copy.recipient !== sender.nodeId && copy.recipient !== c.originator)
          downstream.push(copy);
    const relays = await this.sealFor(notice, downstream);
    // A correction carries the new version on along the same hops, through the share path (its
    // decision, the originator's consent for each hop), written with everything else below.
    const replacement = held.find((h) => versionOf(h.object) === c.replacement);
    const carried =
      c.kind === "correction" && replacement !== undefined
        ? await this.prepareCorrection(
            downstream.filter((d) => isOlder(d.version, c.replacement ?? "")),
            replacement.object.id,
          )
        : [];

    const at = this.nowIso();
    const outcome: AckOutcome =
      held.length === 0 ? "not-held" : c.kind === "correction" ? "replaced" : "purged";
    const ack = await this.signAck({
      type: ACK_TYPE,
      recall: c.recall,
      originator: c.originator,
      node: this.self,
      to: sender.nodeId,
      outcome,
      held_as: heldAs,
      purged: toPurge.length,
      forwarded_to: relays
        .filter((r) => r.envelope !== null && r.credential === null)
        .map((r) => r.recipient),
      at,
    });
    await this.d.store.transaction(async (tx) => {
      for (const share of carried) await share.write(tx);
      for (const h of toPurge) await tx.objects.purge(h.object.id, versionOf(h.object));
      const rec: RecallRecord = {
        id: c.recall,
        objectId: heldAs[0] ?? c.object,
        kind: c.kind,
        originator: c.originator,
        role: "received",
        issuedAt: c.issued_at,
        notice: JSON.stringify(notice),
        receivedFrom: sender.nodeId,
        ack: JSON.stringify(ack),
        recordedAt: at,
      };
      if ((await tx.recalls.putRecall(rec)) === "unchanged")
        throw new AccordError("ERR_REPLAY", `recall \`${c.recall}\` was already recorded here`);
      await this.queue(tx, c.recall, relays, at);
      await tx.ledger.append({
        kind: "recall-applied",
        at,
        data: {
          recall: c.recall,
          kind: c.kind,
          originator: c.originator,
          from: sender.nodeId,
          object: c.object,
          heldAs: [...heldAs],
          purged: toPurge.length,
          replacement: c.replacement,
          holdsReplacement: keepsReplacement,
          forwardedTo: [...ack.claims.forwarded_to],
          replacementSentTo: carried
            .filter((x) => x.outcome.sent > 0)
            .map((x) => x.outcome.recipient),
        },
      });
    });
    return ack;
  }

  private async applyReport(sender: Peer, payload: unknown): Promise<number> {
    const p = payload as { recall?: unknown; acks?: unknown } | null;
    const recallId = p?.recall;
    if (!isUuid(recallId) || !Array.isArray(p?.acks) || p.acks.length > MAX_IDS)
      throw new AccordError("ERR_MALFORMED_INPUT", "the recall report is malformed");
    const recall = await this.d.store.recalls.getRecall(recallId);
    const targets = recall === undefined ? [] : await this.d.store.recalls.targets(recallId);
    if (
      recall === undefined ||
      !targets.some((t) => t.recipient === sender.nodeId && t.via === null)
    )
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `\`${sender.nodeId}\` was not sent recall \`${recallId}\` by this node`,
      );
    // An acknowledgement is verified with its signer's key when this node knows it; otherwise it
    // rests on the relaying node's signature over the report (recorded as `attestedBy`).
    const accepted: { ack: SignedAck; attested: boolean }[] = [];
    for (const raw of p.acks) {
      const ack = parseAck(raw);
      if (ack?.claims.recall !== recallId || ack.claims.to !== sender.nodeId) continue;
      const signer = await this.d.store.peers.get(ack.claims.node);
      if (signer !== undefined && !(await this.signedBy(signer, ack.signature, ack.claims)))
        continue;
      accepted.push({ ack, attested: signer === undefined });
    }
    const at = this.nowIso();
    let report: { id: string; recipient: string; envelope: string } | undefined;
    if (recall.role === "received" && recall.receivedFrom !== null && accepted.length > 0)
      report = await this.sealReport(
        recall.receivedFrom,
        recallId,
        accepted.map((a) => a.ack),
      );
    await this.d.store.transaction(async (tx) => {
      for (const { ack, attested } of accepted) {
        await tx.recalls.putTarget(
          ackTarget(recallId, ack, sender.nodeId, at, attested ? sender.nodeId : null),
        );
        await tx.ledger.append({
          kind: "recall-ack",
          at,
          data: {
            recall: recallId,
            from: ack.claims.node,
            via: sender.nodeId,
            outcome: ack.claims.outcome,
            purged: ack.claims.purged,
            forwardedTo: [...ack.claims.forwarded_to],
            ackDigest: sha256Hex(JSON.stringify(ack)),
          },
        });
      }
      if (report !== undefined)
        await tx.recalls.enqueue({ ...report, recallId, kind: "report", createdAt: at });
    });
    return accepted.length;
  }

  private async sealReport(
    upstream: string,
    recallId: string,
    acks: readonly SignedAck[],
  ): Promise<{ id: string; recipient: string; envelope: string } | undefined> {
    const peer = await this.d.store.peers.get(upstream);
    if (peer === undefined) return undefined;
    const id = this.d.random.uuid();
    const envelope = await sealEnvelope(
      {
        id,
        sender: this.self,
        recipient: upstream,
        createdAt: this.nowIso(),
        contentType: RECALL_REPORT_CONTENT_TYPE,
      },
      new TextEncoder().encode(JSON.stringify({ recall: recallId, acks })),
      this.d.keys.signing.privateKey,
      parsePublicJwk(peer.encryptionKey, "X25519"),
    );
    return { id, recipient: upstream, envelope };
  }

  private async signAck(claims: AckClaims): Promise<SignedAck> {
    return { claims, signature: await signJson(claims, this.d.keys.signing.privateKey) };
  }

  // ---------------------------------------------------------------- status

  async status(recallId: string): Promise<RecallStatus> {
    const rec = await this.d.store.recalls.getRecall(recallId);
    if (rec === undefined) throw new AccordError("ERR_NOT_FOUND", `no recall \`${recallId}\``);
    return this.describe(rec);
  }

  async list(query: { objectId?: string; limit?: number } = {}): Promise<RecallStatus[]> {
    const recs = await this.d.store.recalls.listRecalls({
      limit: query.limit ?? 100,
      ...(query.objectId === undefined ? {} : { objectId: query.objectId }),
    });
    const out: RecallStatus[] = [];
    for (const r of recs) out.push(await this.describe(r));
    return out;
  }

  private async describe(rec: RecallRecord): Promise<RecallStatus> {
    const notice = parseNotice(JSON.parse(rec.notice));
    const targets = await this.d.store.recalls.targets(rec.id);
    const outstanding = targets.filter((t) => t.status === "pending").map((t) => t.recipient);
    return {
      id: rec.id,
      object: rec.objectId,
      kind: rec.kind,
      originator: rec.originator,
      role: rec.role,
      reason: notice?.claims.reason ?? "",
      issuedAt: rec.issuedAt,
      targets: targets.map((t) => ({
        ...t,
        ack: t.ack === null ? null : (parseAck(JSON.parse(t.ack)) ?? null),
      })),
      outstanding,
      otherMeans: targets
        .filter((t) => t.status === "pending" && t.detail?.notify === "other-means")
        .map((t) => t.recipient),
      acknowledged: targets.filter((t) => t.status === "acknowledged").length,
      refused: targets.filter((t) => t.status === "refused").length,
      complete: outstanding.length === 0,
    };
  }

  // ---------------------------------------------------------------- retention

  /** Remove every version whose retention deadline has passed; one `purge` log entry each. */
  async purgeExpired(limit = 500): Promise<PurgeReport> {
    const at = this.nowIso();
    const expired = await this.d.store.objects.expired(at, limit);
    if (expired.length === 0) return { purged: 0, versions: [] };
    return this.d.store.transaction(async (tx) => {
      const versions: { id: string; version: string }[] = [];
      for (const e of expired) {
        if ((await tx.objects.purge(e.id, e.version)) === 0) continue;
        versions.push({ id: e.id, version: e.version });
        await tx.ledger.append({
          kind: "purge",
          at,
          data: {
            reason: "retention",
            object: e.id,
            version: e.version,
            type: e.type,
            originator: e.originator,
            receivedFrom: e.receivedFrom,
            agreement: e.agreementId,
            retentionUntil: e.retentionUntil,
          },
        });
      }
      return { purged: versions.length, versions };
    });
  }

  /** Every refused attempt to pass on another node's object, from the log (for oversight). */
  async onwardRefusals(limit = 1000): Promise<OnwardRefusal[]> {
    const out: OnwardRefusal[] = [];
    const size = await this.d.store.ledger.size();
    for (let from = 0; from < size && out.length < limit; from += 1000) {
      for (const e of await this.d.store.ledger.list(from, 1000)) {
        if (e.kind !== "onward-refused") continue;
        const d = e.data as Record<string, unknown>;
        out.push({
          seq: e.seq,
          at: e.at,
          object: String(d.object),
          originator: String(d.originator),
          partner: String(d.partner),
          purpose: String(d.purpose),
          clauses: Array.isArray(d.clauses) ? d.clauses.map(String) : [],
        });
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  private nowIso(): string {
    return this.d.clock.now().toISOString();
  }
}

// ---------------------------------------------------------------- helpers

/** True when version `a` is older than `b` (versions are RFC 3339 `modified` times, or ""). */
function isOlder(a: string, b: string): boolean {
  if (a === b) return false;
  if (a === "") return true;
  const ta = parseRfc3339(a);
  const tb = parseRfc3339(b);
  return ta !== undefined && tb !== undefined && ta < tb;
}

/** The newest version each recipient was sent. */
function newestByRecipient(
  copies: readonly { recipient: string; version: string }[],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of copies) {
    const v = out.get(c.recipient);
    if (v === undefined || isOlder(v, c.version)) out.set(c.recipient, c.version);
  }
  return out;
}

/** The ids each recipient holds the object under. */
function heldAsByRecipient(
  copies: readonly { recipient: string; sentAs: string }[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of copies) {
    const ids = out.get(c.recipient) ?? [];
    if (!ids.includes(c.sentAs)) ids.push(c.sentAs);
    out.set(c.recipient, ids);
  }
  return out;
}

function isTaxiiCopy(c: SharedCopy): boolean {
  return c.credential !== undefined && c.credential !== null;
}

/** The copies read through TAXII, per credential: its partner and the ids it read. */
function copiesByCredential(
  copies: readonly SharedCopy[],
): Map<string, { partner: string; heldAs: string[] }> {
  const out = new Map<string, { partner: string; heldAs: string[] }>();
  for (const c of copies) {
    if (c.credential === undefined || c.credential === null) continue;
    const entry = out.get(c.credential) ?? { partner: c.recipient, heldAs: [] };
    if (!entry.heldAs.includes(c.sentAs)) entry.heldAs.push(c.sentAs);
    out.set(c.credential, entry);
  }
  return out;
}

function asStrings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function ackTarget(
  recallId: string,
  ack: SignedAck,
  via: string | null,
  at: string,
  attestedBy: string | null = null,
): RecallTarget {
  return {
    recallId,
    recipient: ack.claims.node,
    via,
    status: "acknowledged",
    ack: JSON.stringify(ack),
    detail: {
      outcome: ack.claims.outcome,
      purged: ack.claims.purged,
      forwardedTo: [...ack.claims.forwarded_to],
      acknowledgedAt: ack.claims.at,
      ...(attestedBy === null ? {} : { attestedBy }),
    },
    updatedAt: at,
  };
}

function isShortString(v: unknown, max: number): v is string {
  return typeof v === "string" && v.length > 0 && v.length <= max;
}

function parseIds(v: unknown): string[] | undefined {
  if (!Array.isArray(v) || v.length > MAX_IDS) return undefined;
  return v.every((x) => isShortString(x, MAX_ID_CHARS)) ? v : undefined;
}

/** A notice as received (attacker-controlled): exact members, bounded strings. */
export function parseNotice(v: unknown): SignedNotice | undefined {
  const n = v as { claims?: unknown; signature?: unknown } | null;
  if (n === null || typeof n !== "object" || typeof n.signature !== "string") return undefined;
  const c = n.claims as Record<string, unknown> | null | undefined;
  if (c === null || typeof c !== "object") return undefined;
  const keys = Object.keys(c).sort().join(",");
  if (keys !== "issued_at,kind,object,originator,reason,recall,replacement,type") return undefined;
  if (
    c.type !== NOTICE_TYPE ||
    !isUuid(c.recall) ||
    (c.kind !== "recall" && c.kind !== "correction") ||
    !isNodeId(c.originator) ||
    !isShortString(c.object, MAX_ID_CHARS) ||
    typeof c.reason !== "string" ||
    c.reason.length > MAX_REASON ||
    parseRfc3339(c.issued_at) === undefined ||
    (c.kind === "recall" ? c.replacement !== null : parseRfc3339(c.replacement) === undefined)
  )
    return undefined;
  return { claims: c as unknown as NoticeClaims, signature: n.signature };
}

/** An acknowledgement as received (attacker-controlled): exact members, bounded values. */
export function parseAck(v: unknown): SignedAck | undefined {
  const a = v as { claims?: unknown; signature?: unknown } | null;
  if (a === null || typeof a !== "object" || typeof a.signature !== "string") return undefined;
  const c = a.claims as Record<string, unknown> | null | undefined;
  if (c === null || typeof c !== "object") return undefined;
  const keys = Object.keys(c).sort().join(",");
  if (keys !== "at,forwarded_to,held_as,node,originator,outcome,purged,recall,to,type")
    return undefined;
  if (
    c.type !== ACK_TYPE ||
    !isUuid(c.recall) ||
    !isNodeId(c.originator) ||
    !isNodeId(c.node) ||
    !isNodeId(c.to) ||
    (c.outcome !== "purged" && c.outcome !== "replaced" && c.outcome !== "not-held") ||
    parseIds(c.held_as) === undefined ||
    !Number.isSafeInteger(c.purged) ||
    (c.purged as number) < 0 ||
    !Array.isArray(c.forwarded_to) ||
    c.forwarded_to.length > MAX_IDS ||
    !c.forwarded_to.every(isNodeId) ||
    parseRfc3339(c.at) === undefined
  )
    return undefined;
  return { claims: c as unknown as AckClaims, signature: a.signature };
}
