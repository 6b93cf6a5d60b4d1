/**
 * The use cases of one Accord node: ingest, share, deliver, receive, and the partner registry.
 * This is the spine of ARCHITECTURE.md "The path of one share":
 *
 *   share:   decide -> drop what the agreement does not permit -> validate -> attach provenance
 *            -> seal (sign, encrypt to the recipient) -> outbox + ledger in one transaction
 *   deliver: outbox -> PeerClient -> verify the signed receipt -> mark delivered + ledger
 *   receive: route -> verify and decrypt -> validate STIX -> decide(accept) per object
 *            -> store with provenance + inbox + ledger in one transaction -> signed receipt
 *
 * Everything outside (stores, clock, randomness, the peer client, the logger) arrives through the
 * ports; the composition root (cli) builds them. Ledger entries hold metadata and hashes only.
 */
import { isAscii, isUtf8 } from "node:buffer";
import { AccordError, type ErrorDetail } from "../errors.js";
import type { StixObject } from "../core/stix/object.js";
import { versionOf } from "../core/stix/object.js";
import { validateBundle, validateObject } from "../core/stix/validate.js";
import { parseAgreement, type Agreement } from "../core/agreement/parse.js";
import {
  applyObligations,
  decide,
  explainRecipients,
  type Action,
  type Decision,
  type DecisionContext,
  type ExplainEntry,
  type Reason,
} from "../core/policy/decide.js";
import {
  carriesProvenance,
  PROVENANCE_EXTENSION_DEFINITION,
  PROVENANCE_EXTENSION_ID,
  splitProvenance,
  withProvenance,
} from "../core/provenance.js";
import {
  SOURCE_GRADE_EXTENSION_DEFINITION,
  SOURCE_GRADE_EXTENSION_ID,
  type Change,
} from "../core/minimize/index.js";
import { currentCheckpoint, logOrigin, logSigner, verifyStoredLog } from "./log.js";
import { canonicalSha256Hex, sha256Hex } from "../crypto/hash.js";
import { jwkThumbprint, parsePublicJwk, type NodeKeys, type PublicJwk } from "../crypto/keys.js";
import {
  openEnvelope,
  peekEnvelope,
  sealEnvelopeBytes,
  type Envelope,
} from "../crypto/envelope.js";
import { signReceipt, verifyReceipt, type ReceiptClaims } from "../crypto/receipt.js";
import { signJson, verifyJson } from "../crypto/sign.js";
import type { Consent, GovernedAgreement } from "../core/agreement/lifecycle.js";
import { AgreementBook, type AgreementExchange } from "./agreements.js";
import type {
  Clock,
  Logger,
  OutboxItem,
  Peer,
  PeerClient,
  Random,
  Repos,
  Store,
  StoredObject,
  WriteStep,
} from "./ports.js";
import { runWritePlan } from "./write-plan.js";
import { recordShare } from "./share-copies.js";
import { decisionEntries, type LoggedDecision } from "./decision-log.js";
import { nextAttemptAt } from "./retry.js";
import { assertNotRevoked, partnerSigningKey } from "./key-rotation.js";
import { ownKeyFor, withKeyLock } from "./keyring.js";
import {
  gradeOf,
  loggedChanges,
  Minimizer,
  withoutGrade,
  type MinimizationSetup,
} from "./minimization.js";

export const STIX_CONTENT_TYPE = "application/stix+json;version=2.1";
/** Envelopes older than this are refused; within it, a repeated envelope id gets its first receipt back. */
export const ENVELOPE_MAX_AGE_SECONDS = 7 * 24 * 3600;
/** Payload bytes per envelope before a share is split into several envelopes. */
export const ENVELOPE_TARGET_BYTES = 4 << 20;
/**
 * Objects a share decides, seals and commits at a time (spec/federation.md, "Share
 * performance"): a committed chunk's envelopes travel while the next chunk is prepared.
 */
export const SHARE_CHUNK_OBJECTS = 1000;
/** Envelopes a share delivers itself at once, per recipient, before it waits for the oldest. */
const SHARE_DELIVERIES_IN_FLIGHT = 2;

export interface NodeDeps {
  readonly nodeId: string;
  readonly name: string;
  /** The base URL partners reach this node at (known once the server listens). */
  readonly publicUrl: () => string;
  readonly keys: NodeKeys;
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  readonly peerClient: PeerClient;
  readonly logger: Logger;
  /** Secret, profiles, grade and epochs for minimization; without it every share is denied. */
  readonly minimization?: MinimizationSetup;
  /** How signatures and lifecycle events reach the other parties (spec/agreement.md); none: kept local. */
  readonly agreementExchange?: AgreementExchange;
  /** Members the descriptor adds about earlier keys (app/key-rotation.ts `descriptorKeys`). */
  readonly describeKeys?: () => Promise<Record<string, unknown>>;
}

/** A bundle that passed `checkIngest`, ready for `ingestInto`. */
export interface CheckedBundle {
  readonly id: string;
  readonly objects: readonly StixObject[];
  /** SHA-256 of the bundle's canonical JSON (RFC 8785), for the `ingest` log entry. */
  readonly digest: string;
}

export interface IngestResult {
  readonly bundleId: string;
  readonly objects: number;
  readonly stored: number;
  readonly unchanged: number;
}

export interface ShareRequest {
  readonly recipients: readonly string[];
  readonly purpose: string;
  readonly agreementId?: string;
  /** Objects to share by id; all objects this node originated when left out. */
  readonly objectIds?: readonly string[];
  /** `release`: after a hit, approved by `approvedBy` under the agreement's decision rights. */
  readonly action?: "share" | "release";
  readonly approvedBy?: readonly string[];
}

export interface ObjectVerdict {
  readonly id: string;
  readonly type: string;
  readonly effect: "permit" | "deny";
  /** Properties removed before the object travelled. */
  readonly dropped: readonly string[];
  readonly reasons: readonly Reason[];
  /** The minimization profile applied, when the agreement permitted the object. */
  readonly profile?: string;
  /** What minimization removed or transformed, and why (paths and kinds, never values). */
  readonly changes?: readonly Change[];
  /** The id the object travelled under (re-issued per agreement when the profile says so). */
  readonly sentAs?: string;
}

/** A dry run's view of the copy one partner would receive: minimized, or refused with reasons. */
export interface DryRunMinimized {
  readonly profile: string;
  readonly effect: "permit" | "deny";
  readonly object?: StixObject;
  readonly changes: readonly Change[];
  readonly reasons?: readonly Reason[];
}

/** The permitted objects of a share chunk that travel under one agreement. */
interface ShareGroup {
  readonly agreement: { readonly id: string; readonly version: number; readonly hash: string };
  /** `<id> v<version>`, as the log and the outbox name the agreement. */
  readonly label: string;
  readonly objects: StixObject[];
}

/** What `releaseFor` decided for one object and one partner. */
export type Release =
  | {
      readonly effect: "permit";
      readonly decision: Extract<Decision, { effect: "permit" }>;
      readonly agreement: { readonly id: string; readonly version: number; readonly hash: string };
      /** The copy that may travel: minimized, with Accord's provenance extension attached. */
      readonly object: StixObject;
      /** Properties removed before the object travels. */
      readonly dropped: readonly string[];
      readonly reasons: readonly Reason[];
      /** The minimization profile applied and what it removed or transformed. */
      readonly profile: string;
      readonly changes: readonly Change[];
    }
  | {
      readonly effect: "deny";
      readonly dropped: readonly [];
      readonly reasons: readonly Reason[];
      /** Set when minimization refused the object: the profile and what it had changed. */
      readonly profile?: string;
      readonly changes?: readonly Change[];
    };

export interface ShareOutcome {
  readonly recipient: string;
  /** One envelope per share chunk, agreement and size chunk; empty when nothing was permitted. */
  readonly envelopes: readonly string[];
  readonly sent: number;
  readonly refused: number;
  readonly verdicts: readonly ObjectVerdict[];
}

export interface ShareOptions {
  /**
   * Deliver each committed chunk's envelopes at once, from memory, while the next chunk is
   * prepared (the API's share does); otherwise they wait in the outbox for a delivery pass.
   */
  readonly deliver?: boolean;
}

/** Who a share goes to, and the one time all its chunks are decided at. */
interface ShareTarget {
  readonly recipient: string;
  readonly at: Date;
  readonly atIso: string;
  /** The partner as registered; undefined when unknown (every object is denied). */
  readonly peer: Peer | undefined;
}

/** An envelope sealed for a share, as bytes (a compact JWE is ASCII), with what is logged of it. */
interface SealedEnvelope {
  readonly id: string;
  readonly bytes: Buffer;
  /** Hex SHA-256 of `bytes`. */
  readonly digest: string;
  readonly agreement: string;
  readonly agreementRef: { readonly id: string; readonly version: number };
  readonly objects: number;
  readonly members: readonly { readonly sentAs: string; readonly version: string }[];
}

/** A share to one recipient, decided and sealed; `write` records it in the caller's transaction. */
export interface PreparedShare {
  readonly outcome: ShareOutcome;
  write(tx: Repos): Promise<void>;
}

export interface DeliveryReport {
  readonly attempted: number;
  readonly delivered: number;
  readonly failed: number;
  /** Pending items brought forward because a partner that had been failing answered again. */
  readonly expedited: number;
  /**
   * Recipients with a key announcement still pending: their envelopes were held back, neither
   * attempted nor counted as failed, until it is delivered (spec/federation.md, "Key rotation").
   */
  readonly held: readonly string[];
}

export interface ReceiveResult {
  readonly receipt: string;
  readonly claims: ReceiptClaims;
  /** True when the envelope had been received before and the first receipt was returned. */
  readonly duplicate: boolean;
}

/** The signed, self-describing document a node publishes so partners can learn its keys. */
export interface NodeDescriptor {
  readonly accord: "node-descriptor/1";
  readonly node_id: string;
  readonly name: string;
  readonly url: string;
  readonly keys: { readonly signing: PublicJwk; readonly encryption: PublicJwk };
  readonly issued_at: string;
  /** Compact JWS (EdDSA) over the RFC 8785 canonical form of every other member. */
  readonly signature: string;
}

class DuplicateDelivery extends Error {}

export class AccordNode {
  readonly id: string;
  private agreements: readonly Agreement[] = [];
  /** Every held version with its signatures and lifecycle: what decisions are given (./agreements.ts). */
  readonly agreementBook: AgreementBook;
  private readonly d: NodeDeps;
  private readonly minimizer: Minimizer;
  /** Envelopes a share is delivering itself, by id (`share` with `deliver`). */
  private readonly delivering = new Map<string, Promise<void>>();
  /** Shares in progress (each settles, never rejects, here), for `stop` to wait for. */
  private readonly sharing = new Set<Promise<unknown>>();
  /** Set by `stop`: no delivery starts from then on; what was not sent stays pending. */
  private stopping = false;
  /** The node's clock: its servers (TAXII, peer requests) read the same time as its decisions. */
  readonly clock: Clock;

  constructor(deps: NodeDeps) {
    this.d = deps;
    this.id = deps.nodeId;
    this.clock = deps.clock;
    this.agreementBook = new AgreementBook({
      nodeId: deps.nodeId,
      keys: deps.keys,
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      exchange: deps.agreementExchange,
      random: deps.random,
    });
    this.minimizer = new Minimizer(deps.nodeId, deps.minimization);
  }

  /** Load the agreements held in the store (call once after construction). */
  async init(): Promise<void> {
    const records = await this.d.store.agreements.listLatest();
    this.agreements = records.map((r) => parseAgreement(r.source, `${r.id} v${r.version}`));
    await this.agreementBook.load();
    await this.agreementBook.refresh();
  }

  /** Per agreement, the version decisions use at `at`, with its lifecycle state (signatures, dates, events). */
  governedAgreements(at: Date): readonly GovernedAgreement[] {
    return this.agreementBook.governedAt(at);
  }

  /** The id `id` travels under to partners of `agreementId` if its profile re-issues ids (see Minimizer). */
  reissuedId(agreementId: string, id: string): string | undefined {
    return this.minimizer.reissuedId(agreementId, id);
  }

  listAgreements(): readonly Agreement[] {
    return this.agreements;
  }

  /** Add an agreement document (YAML); parsing errors carry file, line and column. */
  async addAgreement(
    source: string,
    file: string,
  ): Promise<{ agreement: Agreement; added: boolean }> {
    const agreement = parseAgreement(source, file);
    if (!agreement.doc.parties.some((p) => p.node === this.id))
      throw new AccordError(
        "ERR_AGREEMENT_INVALID",
        `${file}: this node \`${this.id}\` is not a party to \`${agreement.id}\``,
      );
    const at = this.nowIso();
    const result = await this.d.store.transaction(async (tx) => {
      const put = await tx.agreements.put({
        id: agreement.id,
        version: agreement.version,
        source,
        hash: agreement.hash,
        loadedAt: at,
      });
      if (put === "inserted")
        await tx.ledger.append({
          kind: "agreement",
          at,
          data: { agreement: agreement.id, version: agreement.version, hash: agreement.hash },
        });
      return put;
    });
    await this.init();
    return { agreement, added: result === "inserted" };
  }

  // ---------------------------------------------------------------- ingest

  /** Validate a STIX 2.1 bundle and store every object as originated here. Nothing is stored when any object is invalid. */
  async ingest(bundle: unknown): Promise<IngestResult> {
    const checked = this.checkIngest(bundle);
    return this.d.store.transaction((tx) => this.ingestInto(tx, checked));
  }

  /**
   * The checks of `ingest` (valid STIX 2.1, well-formed source grades), without writing: a caller
   * that groups several ingests into one transaction (TAXII's group commit) checks each first.
   */
  checkIngest(bundle: unknown): CheckedBundle {
    const verdict = validateBundle(bundle);
    if (!verdict.valid) throw stixError(verdict.issues, "the bundle is not valid STIX 2.1");
    const b = bundle as { id: string; objects?: readonly StixObject[] };
    const objects = b.objects ?? [];
    const badGrades = objects.flatMap((o, i) =>
      gradeOf(o) === "malformed"
        ? [
            {
              objectId: o.id,
              path: `$.objects[${String(i)}].extensions['${SOURCE_GRADE_EXTENSION_ID}']`,
              message: "is not an Admiralty or Europol 4x4 grade (spec/minimization.md)",
              code: "accord.source-grade",
            },
          ]
        : [],
    );
    if (badGrades.length > 0)
      throw stixError(badGrades, "the bundle carries a malformed source grade");
    // An object with Accord provenance was shared by another node under an agreement: stored as
    // this node's own it would escape its originator's recall, retention and onward-sharing
    // limits, and this node would later share it as its own. It comes in through the peer
    // protocol or `accord taxii pull --from PARTNER`, which verify the chain (spec/provenance.md).
    const provenanced = objects.flatMap((o, i) =>
      carriesProvenance(o)
        ? [
            {
              objectId: o.id,
              path: `$.objects[${String(i)}].extensions['${PROVENANCE_EXTENSION_ID}']`,
              message:
                "carries Accord provenance: another node's object is received through the peer protocol or `accord taxii pull --from PARTNER`, not ingested as this node's own",
              code: "accord.provenance",
            },
          ]
        : [],
    );
    if (provenanced.length > 0)
      throw stixError(provenanced, "the bundle holds objects another node shared");
    return { id: b.id, objects, digest: canonicalSha256Hex(bundle) };
  }

  /** Store a checked bundle's objects as originated here, and its `ingest` log entry, in `tx`. */
  async ingestInto(tx: Repos, b: CheckedBundle): Promise<IngestResult> {
    const stored = await runWritePlan(tx, [this.ingestStep(b)]);
    return {
      bundleId: b.id,
      objects: b.objects.length,
      stored,
      unchanged: b.objects.length - stored,
    };
  }

  /**
   * `ingestInto`'s writes as a plan step, for a group commit (src/app/group-commit.ts): the
   * objects as originated here, then the `ingest` entry counting those that were new.
   */
  ingestStep(b: CheckedBundle): WriteStep {
    const at = this.nowIso();
    const provenance = {
      originator: this.id,
      receivedFrom: null,
      agreementId: null,
      agreementVersion: null,
      purpose: null,
      retentionUntil: null,
      envelopeId: null,
    };
    return {
      op: "putObjects",
      objects: b.objects.map((object) => ({ object, provenance, storedAt: at })),
      counted: {
        kind: "ingest",
        at,
        data: { bundle: b.id, objects: b.objects.length, digest: b.digest },
      },
    };
  }

  // ---------------------------------------------------------------- decide (dry run)

  /** What would happen if `object` were shared with `recipient` for `purpose`; writes nothing. */
  explain(
    object: StixObject,
    ctx: Omit<DecisionContext, "self" | "at" | "action"> & { action?: Action },
  ): Decision {
    return decide(
      object,
      { action: ctx.action ?? "share", self: this.id, at: this.d.clock.now(), ...ctx },
      this.governedAgreements(this.d.clock.now()),
    );
  }

  /**
   * Dry run: which partner would receive `object` for `purpose`, under which clause, with which
   * obligations, and (for a share) the copy each would receive after minimization; writes nothing.
   */
  dryRun(
    object: StixObject,
    purpose: string,
    action: Action = "share",
  ): (ExplainEntry & { minimized?: DryRunMinimized })[] {
    const entries = explainRecipients(
      object,
      { action, self: this.id, purpose, at: this.d.clock.now() },
      this.governedAgreements(this.d.clock.now()),
    );
    if (action !== "share") return entries;
    return entries.map((e) => {
      if (e.decision.effect !== "permit") return e;
      const m = this.minimizer.run(
        applyObligations(object, e.decision.obligations),
        e.decision.agreement,
        e.decision.obligations.profile,
        this.minimizer.gradeFor(object, this.id),
      );
      return {
        ...e,
        minimized:
          m.effect === "permit"
            ? { profile: m.profile, effect: "permit", object: m.object, changes: m.changes }
            : { profile: m.profile, effect: "deny", changes: m.changes, reasons: m.reasons },
      };
    });
  }

  // ---------------------------------------------------------------- share

  share(req: ShareRequest, opts: ShareOptions = {}): Promise<ShareOutcome[]> {
    const run = this.shareAll(req, opts);
    const settled: Promise<unknown> = run
      .catch(() => undefined)
      .finally(() => this.sharing.delete(settled));
    this.sharing.add(settled);
    return run;
  }

  private async shareAll(req: ShareRequest, opts: ShareOptions): Promise<ShareOutcome[]> {
    if (req.recipients.length === 0)
      throw new AccordError("ERR_BAD_REQUEST", "name at least one recipient");
    const objects = await this.selectForShare(req.objectIds);
    const outcomes: ShareOutcome[] = [];
    for (const recipient of req.recipients)
      outcomes.push(await this.shareWith(recipient, req, objects, opts.deliver === true));
    return outcomes;
  }

  private async selectForShare(ids: readonly string[] | undefined): Promise<StoredObject[]> {
    if (ids !== undefined) {
      const found: StoredObject[] = [];
      const missing: string[] = [];
      const got = await this.d.store.objects.getMany(ids);
      ids.forEach((id, i) => {
        const o = got[i];
        if (o === undefined) missing.push(id);
        else found.push(o);
      });
      if (missing.length > 0)
        throw new AccordError("ERR_NOT_FOUND", `no object \`${missing[0] ?? ""}\` is stored here`, {
          details: missing.map((id) => ({ objectId: id, message: "not stored here" })),
        });
      return found;
    }
    const all: StoredObject[] = [];
    let afterId: string | undefined;
    for (;;) {
      const page = await this.d.store.objects.list(
        afterId === undefined ? { limit: 1000 } : { afterId, limit: 1000 },
      );
      for (const o of page) if (o.provenance.originator === this.id) all.push(o);
      const last = page.at(-1);
      if (page.length < 1000 || last === undefined) return all;
      afterId = last.object.id;
    }
  }

  /**
   * Share with one recipient in chunks of `SHARE_CHUNK_OBJECTS`, each decided, sealed and
   * committed on its own (spec/federation.md, "Share performance"). With `deliver`, a committed
   * chunk's envelopes go to the recipient at once, from memory, while the next chunk is prepared.
   */
  private async shareWith(
    recipient: string,
    req: ShareRequest,
    objects: readonly StoredObject[],
    deliver: boolean,
  ): Promise<ShareOutcome> {
    const target = await this.shareTarget(recipient);
    const deliveries: Promise<void>[] = [];
    const parts: ShareOutcome[] = [];
    let from = 0;
    do {
      const chunk = await this.prepareChunk(
        target,
        req,
        objects.slice(from, from + SHARE_CHUNK_OBJECTS),
      );
      await this.d.store.transaction((tx) => chunk.write(tx));
      parts.push(chunk.outcome);
      // A partner must know a new key before it sees it used: while an announcement to it is
      // pending (asked per chunk: a key may rotate during a share), its envelopes wait for the
      // delivery pass, which sends announcements first.
      if (deliver && chunk.sealed.length > 0 && !(await this.announcing(recipient)))
        for (const s of chunk.sealed) {
          deliveries.push(this.deliverSealed(recipient, s));
          // At most this many requests outstanding: the recipient works through them in order.
          if (deliveries.length > SHARE_DELIVERIES_IN_FLIGHT) await deliveries.shift();
        }
      from += SHARE_CHUNK_OBJECTS;
    } while (from < objects.length);
    return {
      recipient,
      envelopes: parts.flatMap((p) => p.envelopes),
      sent: parts.reduce((n, p) => n + p.sent, 0),
      refused: parts.reduce((n, p) => n + p.refused, 0),
      verdicts: parts.flatMap((p) => p.verdicts),
    };
  }

  /** Whether a key announcement to `recipient` is waiting for delivery (./key-rotation.ts). */
  private async announcing(recipient: string): Promise<boolean> {
    return (await this.announcingTo()).has(recipient);
  }

  /** The recipients a key announcement is waiting to be delivered to. */
  private async announcingTo(): Promise<Set<string>> {
    const pending = await this.d.store.keys.announcements({ status: "pending", limit: 10_000 });
    return new Set(pending.map((a) => a.recipient));
  }

  /**
   * A share decided and sealed but not yet written: `write(tx)` records it (decisions, outbox,
   * `share` entries, copies) inside the caller's transaction. A correction uses it so that its
   * share and its recall commit together or not at all (spec/recall.md): one chunk per recipient.
   */
  async prepareShare(req: ShareRequest): Promise<PreparedShare[]> {
    const objects = await this.selectForShare(req.objectIds);
    const out: PreparedShare[] = [];
    for (const recipient of req.recipients)
      out.push(await this.prepareChunk(await this.shareTarget(recipient), req, objects));
    return out;
  }

  /** The time a share to `recipient` is decided at (one for all its chunks) and the partner. */
  private async shareTarget(recipient: string): Promise<ShareTarget> {
    const at = this.d.clock.now();
    await this.agreementBook.refresh(at);
    const peer = recipient === this.id ? undefined : await this.d.store.peers.get(recipient);
    return { recipient, at, atIso: at.toISOString(), peer };
  }

  private async prepareChunk(
    target: ShareTarget,
    req: ShareRequest,
    objects: readonly StoredObject[],
  ): Promise<PreparedShare & { sealed: readonly SealedEnvelope[] }> {
    const { recipient, at, atIso, peer } = target;
    const verdicts: ObjectVerdict[] = [];
    /** Permitted, minimized objects with provenance, grouped by agreement. */
    const groups = new Map<string, ShareGroup>();
    const decisions: LoggedDecision[] = [];
    // What every object's release is decided with, built once a chunk (an object held for another
    // node adds the originator's consents).
    const releaseCtx = {
      partner: recipient,
      known: peer !== undefined,
      purpose: req.purpose,
      at,
      ...(req.agreementId === undefined ? {} : { agreementId: req.agreementId }),
      ...(req.action === undefined ? {} : { action: req.action }),
      ...(req.approvedBy === undefined ? {} : { approvedBy: req.approvedBy }),
    };
    // Objects of a chunk mostly travel under one agreement: the last group is looked at first.
    let last: ShareGroup | undefined;

    for (const stored of objects) {
      const o = stored.object;
      // Another node's object goes on only with its originator's consent for this hop.
      const consents =
        stored.provenance.originator === this.id
          ? undefined
          : await this.agreementBook.consentsFor(o.id, at);
      const release = this.releaseFor(
        stored,
        consents === undefined ? releaseCtx : { ...releaseCtx, consents },
      );
      if (release.effect === "permit") {
        const a = release.agreement;
        let group = last;
        if (group?.agreement.id !== a.id || group.agreement.version !== a.version) {
          const key = `${a.id}@${String(a.version)}`;
          group = groups.get(key);
          if (group === undefined) {
            group = { agreement: a, label: `${a.id} v${String(a.version)}`, objects: [] };
            groups.set(key, group);
          }
          last = group;
        }
        group.objects.push(release.object);
        verdicts.push({
          id: o.id,
          type: o.type,
          effect: "permit",
          dropped: release.dropped,
          reasons: release.reasons,
          profile: release.profile,
          changes: release.changes,
          sentAs: release.object.id,
        });
        decisions.push({
          object: o.id,
          version: versionOf(o),
          effect: "permit",
          agreement: group.label,
          clauses: release.reasons.map((r) => r.clause),
          dropped: [...release.dropped],
          profile: release.profile,
          minimized: loggedChanges(release.changes),
          sentAs: release.object.id,
        });
        continue;
      }
      verdicts.push({
        id: o.id,
        type: o.type,
        effect: release.effect,
        dropped: release.dropped,
        reasons: release.reasons,
        ...(release.profile === undefined ? {} : { profile: release.profile }),
        ...(release.changes === undefined ? {} : { changes: release.changes }),
      });
      decisions.push({
        object: o.id,
        version: versionOf(o),
        effect: release.effect,
        agreement: null,
        clauses: release.reasons.map((r) => r.clause),
        dropped: [...release.dropped],
        profile: release.profile ?? null,
        minimized: loggedChanges(release.changes ?? []),
        sentAs: null,
      });
    }
    // Many decisions to a log entry, each still provable on its own (./decision-log.ts).
    const ledger = decisionEntries(
      atIso,
      { action: req.action ?? "share", partner: recipient, purpose: req.purpose },
      decisions,
    );

    // Seal outside the transaction (CPU work); write outbox and ledger together.
    const sealed: SealedEnvelope[] = [];
    if (peer !== undefined) {
      for (const group of groups.values()) {
        for (const { objects: chunk, texts } of chunkBySize(group.objects, ENVELOPE_TARGET_BYTES)) {
          const id = this.d.random.uuid();
          const bytes = await sealEnvelopeBytes(
            { id, sender: this.id, recipient, createdAt: atIso, contentType: STIX_CONTENT_TYPE },
            bundleBytes(`bundle--${this.d.random.uuid()}`, texts),
            this.d.keys.signing.privateKey,
            parsePublicJwk(peer.encryptionKey, "X25519"),
          );
          sealed.push({
            id,
            bytes,
            // Hashed once, as bytes: the `share` entry's digest and the receipt's check.
            digest: sha256Hex(bytes),
            agreement: group.label,
            agreementRef: { id: group.agreement.id, version: group.agreement.version },
            objects: chunk.length,
            members: chunk.map((o) => ({ sentAs: o.id, version: versionOf(o) })),
          });
        }
      }
    }
    const write = async (tx: Repos): Promise<void> => {
      for (const e of ledger) await tx.ledger.append(e);
      for (const s of sealed) {
        await tx.outbox.enqueue({
          id: s.id,
          recipient,
          envelope: s.bytes,
          createdAt: atIso,
          agreement: s.agreementRef,
        });
        await tx.ledger.append({
          kind: "share",
          at: atIso,
          data: {
            envelope: s.id,
            recipient,
            agreement: s.agreement,
            purpose: req.purpose,
            objects: s.objects,
            digest: s.digest,
          },
        });
      }
      // Who got what, for recall; refused onward hops, for oversight (spec/recall.md).
      await recordShare(tx, {
        self: this.id,
        recipient,
        purpose: req.purpose,
        at: atIso,
        envelopes: sealed,
        verdicts,
        objects,
      });
    };
    const sent = verdicts.filter((v) => v.effect === "permit").length;
    return {
      outcome: {
        recipient,
        envelopes: sealed.map((s) => s.id),
        sent,
        refused: verdicts.length - sent,
        verdicts,
      },
      write,
      sealed,
    };
  }

  /**
   * The one gate every outbound copy passes (share, TAXII collections, release after a hit):
   * decide for this partner and purpose, strip what the agreement does not permit, check the
   * result is still valid STIX, and attach provenance. Pure with respect to the store: writes
   * nothing; callers log the decision.
   */
  releaseFor(
    stored: StoredObject,
    ctx: {
      readonly partner: string;
      /** False when the partner is not in the registry (always denied). */
      readonly known: boolean;
      readonly purpose: string;
      readonly at: Date;
      readonly agreementId?: string;
      /** `release` after a hit (default `share`), with the roles that approved it. */
      readonly action?: "share" | "release";
      readonly approvedBy?: readonly string[];
      /** For another node's object: the originator's consents held here (verified when stored). */
      readonly consents?: readonly Consent[];
    },
  ): Release {
    const o = stored.object;
    if (!ctx.known)
      return {
        effect: "deny",
        dropped: [],
        reasons: [
          {
            effect: "deny",
            clause: "default",
            message: `denied: \`${ctx.partner}\` is not a known partner of \`${this.id}\``,
          },
        ],
      };
    const decision = decide(
      o,
      {
        action: ctx.action ?? "share",
        self: this.id,
        partner: ctx.partner,
        ...(ctx.approvedBy === undefined ? {} : { approvedBy: ctx.approvedBy }),
        purpose: ctx.purpose,
        at: ctx.at,
        originator: stored.provenance.originator,
        ...(ctx.consents === undefined ? {} : { consents: ctx.consents }),
        ...(ctx.agreementId === undefined ? {} : { agreementId: ctx.agreementId }),
      },
      this.governedAgreements(ctx.at),
    );
    if (decision.effect === "deny")
      return { effect: "deny", dropped: [], reasons: decision.reasons };
    const stripped = applyObligations(o, decision.obligations);
    const issues = stripped === o ? [] : validateObject(stripped);
    if (issues.length > 0)
      return {
        effect: "deny",
        dropped: [],
        reasons: [
          ...decision.reasons,
          {
            effect: "deny",
            clause: `${decision.agreement.id} v${decision.agreement.version} §data.types.${o.type}.properties`,
            message: `denied: removing the properties not permitted would leave \`${o.id}\` invalid (${issues[0]?.message ?? "invalid"})`,
          },
        ],
      };
    const minimized = this.minimizer.run(
      stripped,
      decision.agreement,
      decision.obligations.profile,
      this.minimizer.gradeFor(o, stored.provenance.originator),
    );
    if (minimized.effect === "deny")
      return {
        effect: "deny",
        dropped: [],
        reasons: [...decision.reasons, ...minimized.reasons],
        profile: minimized.profile,
        changes: minimized.changes,
      };
    return {
      effect: "permit",
      decision,
      agreement: decision.agreement,
      dropped: decision.obligations.dropProperties,
      reasons: decision.reasons,
      profile: minimized.profile,
      changes: minimized.changes,
      object: withProvenance(minimized.object, {
        originator: stored.provenance.originator,
        agreement: decision.agreement.id,
        agreement_version: decision.agreement.version,
        agreement_hash: decision.agreement.hash,
        purpose: ctx.purpose,
        retention_until: decision.obligations.retentionUntil,
        onward_sharing: decision.obligations.onwardSharing,
        // On an onward hop the consent for it travels with the object, for the recipient to verify.
        consents: (ctx.consents ?? [])
          .filter(
            (c) =>
              c.originator === stored.provenance.originator &&
              c.holder === this.id &&
              c.recipient === ctx.partner &&
              c.agreement === decision.agreement.id &&
              c.purpose === ctx.purpose &&
              (c.object === o.id || c.object === "*"),
          )
          .map((c) => ({ ...c })),
      }),
    };
  }

  // ---------------------------------------------------------------- deliver

  /**
   * Push every due outbox item to its recipient; failures back off exponentially (capped at one
   * hour). Envelopes a share is delivering itself (`share` with `deliver`) are left to it, and
   * awaited first: a pass after such a share finds them delivered or scheduled for retry.
   *
   * A partner must know a new key before it sees it used: the envelopes to a recipient with a key
   * announcement pending are held (not attempted, their retries untouched) until the
   * announcement is delivered; the delivery pass sends announcements first (KeyService).
   */
  async deliverDue(limit = 50): Promise<DeliveryReport> {
    await Promise.all(this.delivering.values());
    const held = [...(await this.announcingTo())].sort();
    const due = (await this.d.store.outbox.due(this.nowIso(), limit, held)).filter(
      (item) => !this.delivering.has(item.id),
    );
    let attempted = 0;
    let delivered = 0;
    let expedited = 0;
    for (const item of due) {
      // Stopping: the rest stay pending for the next start.
      if (this.stopping) break;
      attempted++;
      // The envelope's bytes as the outbox hands them back: sent as is and hashed for the
      // receipt check, never made a string of megabytes.
      const r = await this.deliverOne(item, item.envelope, sha256Hex(item.envelope));
      if (r.delivered) delivered++;
      expedited += r.expedited;
    }
    return { attempted, delivered, failed: attempted - delivered, expedited, held };
  }

  /**
   * Wait for the shares in progress and every delivery in flight, and start no delivery from now
   * on: the composition root closes the store after this, so nothing writes to it once closed.
   * A share in progress finishes its chunks (each committed whole); what was not delivered stays
   * pending in the outbox for the next start.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    while (this.sharing.size > 0 || this.delivering.size > 0)
      await Promise.all([...this.sharing, ...this.delivering.values()]);
  }

  /** Deliver an envelope a share just committed, from memory; `deliverDue` leaves it alone meanwhile. */
  private deliverSealed(recipient: string, s: SealedEnvelope): Promise<void> {
    // Stopping: the envelope stays pending in the outbox for the next start.
    if (this.stopping) return Promise.resolve();
    const delivery = this.deliverOne({ id: s.id, recipient, attempts: 0 }, s.bytes, s.digest)
      .then(
        () => undefined,
        // Only a store that failed while recording the attempt gets here; the item stays pending.
        (e: unknown) => {
          this.d.logger.error({ err: e, envelope: s.id, recipient }, "delivery not recorded");
        },
      )
      .finally(() => this.delivering.delete(s.id));
    this.delivering.set(s.id, delivery);
    return delivery;
  }

  /**
   * One attempt to deliver outbox item `item` (its envelope `body`, whose SHA-256 is `digest`):
   * verify the receipt and record it, or record the failure and when to try again.
   */
  private async deliverOne(
    item: Pick<OutboxItem, "id" | "recipient" | "attempts">,
    body: Uint8Array,
    digest: string,
  ): Promise<{ delivered: boolean; expedited: number }> {
    const peer = await this.d.store.peers.get(item.recipient);
    try {
      if (peer === undefined)
        throw new AccordError(
          "ERR_UNKNOWN_PARTNER",
          `\`${item.recipient}\` is not a known partner`,
        );
      const { receipt } = await this.d.peerClient.deliver(peer, body);
      const claims = await verifyReceipt(receipt, parsePublicJwk(peer.signingKey, "Ed25519"));
      if (
        claims.envelopeId !== item.id ||
        claims.envelopeHash !== digest ||
        claims.recipient !== peer.nodeId
      )
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          "the receipt does not match the envelope delivered",
        );
      const at = this.nowIso();
      await this.d.store.transaction(async (tx) => {
        if (await tx.outbox.markDelivered(item.id, receipt, at))
          await tx.ledger.append({
            kind: "receipt",
            at,
            data: {
              envelope: item.id,
              recipient: peer.nodeId,
              accepted: claims.accepted,
              rejected: claims.rejected,
              receiptDigest: sha256Hex(receipt),
            },
          });
      });
      // It had failed before, so the partner was away and is back: the rest need not wait.
      const expedited = item.attempts > 0 ? await this.d.store.outbox.expedite(peer.nodeId, at) : 0;
      return { delivered: true, expedited };
    } catch (e) {
      const code = e instanceof AccordError ? e.code : "ERR_PEER_UNAVAILABLE";
      const next = nextAttemptAt(this.d.clock.now(), item.attempts, this.d.random.bytes(1)[0] ?? 0);
      await this.d.store.outbox.markFailed(item.id, code, next);
      this.d.logger.warn(
        { envelope: item.id, recipient: item.recipient, code, attempts: item.attempts + 1, next },
        "delivery failed",
      );
      return { delivered: false, expedited: 0 };
    }
  }

  // ---------------------------------------------------------------- receive

  /**
   * Accept a sealed envelope from a partner. The envelope is attacker-controlled until its
   * signature verifies; nothing is written unless every step succeeds. The inbox route (its
   * request body, read for this alone) passes `body`: the envelope's SHA-256, already computed over
   * these bytes and checked against the signed `Content-Digest`, so megabytes are hashed once;
   * and `overwrite`, which lets the envelope be decrypted over its own bytes (`openEnvelope`).
   */
  async receive(
    envelope: Envelope,
    body: { readonly sha256?: Uint8Array; readonly overwrite?: boolean } = {},
  ): Promise<ReceiveResult> {
    const { sha256, overwrite = false } = body;
    const header = peekEnvelope(envelope);
    if (header.recipient !== this.id)
      throw new AccordError(
        "ERR_ENVELOPE_INVALID",
        `the envelope is addressed to \`${header.recipient}\`, not to this node`,
      );
    const peer = await this.d.store.peers.get(header.sender);
    if (peer === undefined)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `\`${header.sender}\` is not a known partner of \`${this.id}\``,
      );
    const envelopeHash =
      sha256 === undefined ? sha256Hex(envelope) : Buffer.from(sha256).toString("hex");
    const seen = await this.d.store.inbox.get(header.id);
    if (seen !== undefined)
      return this.redelivery(seen.envelopeHash, envelopeHash, seen.receipt, peer);

    const now = this.d.clock.now();
    await this.agreementBook.refresh(now);
    const opened = await openEnvelope(envelope, {
      recipientKeys: this.d.keys,
      expectedRecipient: this.id,
      // The pinned key, or a previous one inside its rotation overlap (app/key-rotation.ts).
      senderKey: (sender, kid) =>
        sender === peer.nodeId
          ? partnerSigningKey(this.d.store, peer, kid, now)
          : Promise.resolve(undefined),
      now,
      maxSkewSeconds: ENVELOPE_MAX_AGE_SECONDS,
      overwrite,
    });
    if (opened.header.contentType !== STIX_CONTENT_TYPE)
      throw new AccordError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        `content type \`${opened.header.contentType}\` is not accepted`,
      );
    let bundle: unknown;
    try {
      // Strict UTF-8 (simdutf's check), then JSON. ASCII (a bundle as Accord writes it, most
      // bundles) is its own UTF-8 and decodes as Latin-1, a copy, where V8's UTF-8 decoder cost
      // 2.5 times as much CPU over a multi-megabyte payload.
      const bytes = Buffer.from(
        opened.payload.buffer,
        opened.payload.byteOffset,
        opened.payload.byteLength,
      );
      if (isAscii(bytes)) bundle = JSON.parse(bytes.toString("latin1"));
      else if (isUtf8(bytes)) bundle = JSON.parse(bytes.toString("utf8"));
      else throw new TypeError("not UTF-8");
    } catch {
      throw new AccordError("ERR_MALFORMED_INPUT", "the envelope's content is not JSON");
    }
    const verdict = validateBundle(bundle);
    if (!verdict.valid)
      throw stixError(verdict.issues, "the envelope's bundle is not valid STIX 2.1");
    const objects = (bundle as { objects?: readonly StixObject[] }).objects ?? [];

    const atIso = now.toISOString();
    const outcomes: ReceiptClaims["objects"][number][] = [];
    const toStore: StoredObject[] = [];
    const decisions: LoggedDecision[] = [];
    for (const raw of objects) {
      if (raw.id === PROVENANCE_EXTENSION_ID || raw.id === SOURCE_GRADE_EXTENSION_ID) continue;
      // Split once for both checks; an await only for an onward hop's consent (rare).
      const split = splitProvenance(raw);
      const hop = this.onwardConsented(split, header.sender, now);
      const { outcome, stored, reasons } = this.acceptOne(
        raw,
        split,
        header.sender,
        header.id,
        now,
        hop === false ? false : await hop,
      );
      outcomes.push(outcome);
      if (stored !== undefined) toStore.push(stored);
      decisions.push({
        object: raw.id,
        version: versionOf(raw),
        effect: stored === undefined ? "deny" : "permit",
        clauses: reasons.map((r) => r.clause),
      });
    }
    const ledger = decisionEntries(
      atIso,
      { action: "accept", partner: header.sender, envelope: header.id },
      decisions,
    );

    try {
      return await this.d.store.transaction(async (tx) => {
        const finalOutcomes = await this.storeAccepted(tx, toStore, outcomes);
        const accepted = finalOutcomes.filter((o) => o.outcome !== "rejected").length;
        const claims: ReceiptClaims = {
          envelopeId: header.id,
          envelopeHash,
          recipient: this.id,
          sender: header.sender,
          receivedAt: atIso,
          accepted,
          rejected: finalOutcomes.length - accepted,
          objects: finalOutcomes,
        };
        const receipt = await signReceipt(claims, this.d.keys.signing.privateKey);
        if (
          !(await tx.inbox.record({
            envelopeId: header.id,
            sender: header.sender,
            envelopeHash,
            receivedAt: atIso,
            receipt,
          }))
        )
          throw new DuplicateDelivery();
        for (const e of ledger) await tx.ledger.append(e);
        await tx.ledger.append({
          kind: "accept",
          at: atIso,
          data: {
            envelope: header.id,
            sender: header.sender,
            accepted,
            rejected: claims.rejected,
            digest: envelopeHash,
          },
        });
        return { receipt, claims, duplicate: false };
      });
    } catch (e) {
      if (!(e instanceof DuplicateDelivery)) throw e;
      const rec = await this.d.store.inbox.get(header.id);
      if (rec === undefined) throw e;
      return this.redelivery(rec.envelopeHash, envelopeHash, rec.receipt, peer);
    }
  }

  private async redelivery(
    firstHash: string,
    hash: string,
    receipt: string,
    peer: Peer,
  ): Promise<ReceiveResult> {
    if (firstHash !== hash)
      throw new AccordError(
        "ERR_REPLAY",
        "an envelope with this id was already received with other content",
      );
    const claims = await verifyReceipt(receipt, ownKeyFor(this.d.keys, receipt));
    this.d.logger.info(
      { envelope: claims.envelopeId, sender: peer.nodeId },
      "duplicate delivery answered with the first receipt",
    );
    return { receipt, claims, duplicate: true };
  }

  /**
   * For an object another node originated: whether its provenance carries a valid consent for
   * this hop. Plain false, not a promise, for the common case (the sender is the originator, or
   * the provenance is unreadable and the object is refused anyway).
   */
  private onwardConsented(
    split: ReturnType<typeof splitProvenance>,
    sender: string,
    now: Date,
  ): Promise<boolean> | false {
    if (typeof split === "string" || split.provenance.originator === sender) return false;
    const p = split.provenance;
    return this.agreementBook.hopConsented(p.consents, {
      originator: p.originator,
      holder: sender,
      agreement: p.agreement,
      purpose: p.purpose,
      at: now,
    });
  }

  /**
   * The inbox's check of one object for an object that arrived another way, such as a pull from
   * `sender`'s TAXII server (src/app/taxii-pull.ts): the onward hop's consent, the accept
   * decision, provenance and retention, exactly as for a sealed envelope. Writes nothing.
   */
  async acceptArrived(
    raw: StixObject,
    sender: string,
    now: Date,
  ): Promise<{
    outcome: ReceiptClaims["objects"][number];
    stored?: StoredObject;
    reasons: readonly Reason[];
  }> {
    await this.agreementBook.refresh(now);
    const split = splitProvenance(raw);
    const hop = this.onwardConsented(split, sender, now);
    return this.acceptOne(raw, split, sender, null, now, hop === false ? false : await hop);
  }

  private acceptOne(
    raw: StixObject,
    split: ReturnType<typeof splitProvenance>,
    sender: string,
    envelopeId: string | null,
    now: Date,
    onwardConsented = false,
  ): {
    outcome: ReceiptClaims["objects"][number];
    stored?: StoredObject;
    reasons: readonly Reason[];
  } {
    const version = versionOf(raw);
    const reject = (reason: string, reasons: readonly Reason[] = []) => ({
      outcome: { id: raw.id, version, outcome: "rejected" as const, reason },
      reasons,
    });
    if (typeof split === "string") return reject(split);
    const { object, provenance } = split;
    if (provenance.originator !== sender && !onwardConsented)
      return reject(
        `\`${raw.id}\` names originator \`${provenance.originator}\` and carries no valid consent of theirs for this hop`,
      );
    const held = this.agreementBook.find(provenance.agreement, provenance.agreement_version);
    if (held?.hash !== provenance.agreement_hash)
      return reject(
        `agreement \`${provenance.agreement}\` v${provenance.agreement_version} is not the version held here`,
      );
    // The originator's source grade is kept with the object; the decision is taken without it.
    if (gradeOf(object) === "malformed")
      return reject(`\`${raw.id}\` carries a malformed Accord source-grade extension`);
    const decision = decide(
      withoutGrade(object),
      {
        action: "accept",
        self: this.id,
        partner: sender,
        purpose: provenance.purpose,
        at: now,
        agreementId: provenance.agreement,
      },
      this.governedAgreements(now),
    );
    if (decision.effect === "deny")
      return reject(decision.reasons[0]?.message ?? "denied", decision.reasons);
    if (decision.agreement.version !== provenance.agreement_version)
      return reject(
        `\`${raw.id}\` travelled under \`${provenance.agreement}\` v${provenance.agreement_version}, but v${decision.agreement.version} is in force here`,
      );
    const retentionUntil =
      Date.parse(provenance.retention_until) < Date.parse(decision.obligations.retentionUntil)
        ? provenance.retention_until
        : decision.obligations.retentionUntil;
    return {
      outcome: { id: raw.id, version, outcome: "stored" },
      stored: {
        object,
        provenance: {
          originator: provenance.originator,
          receivedFrom: sender,
          agreementId: provenance.agreement,
          agreementVersion: provenance.agreement_version,
          purpose: provenance.purpose,
          retentionUntil,
          envelopeId,
        },
        storedAt: now.toISOString(),
      },
      reasons: decision.reasons,
    };
  }

  private async storeAccepted(
    tx: Repos,
    toStore: readonly StoredObject[],
    outcomes: readonly ReceiptClaims["objects"][number][],
  ): Promise<ReceiptClaims["objects"][number][]> {
    const unchanged = new Set<string>();
    const results = await tx.objects.putMany(toStore);
    toStore.forEach((s, i) => {
      if (results[i] === "unchanged") unchanged.add(`${s.object.id}\n${versionOf(s.object)}`);
    });
    return outcomes.map((o) =>
      o.outcome === "stored" && unchanged.has(`${o.id}\n${o.version}`)
        ? { ...o, outcome: "unchanged" as const }
        : o,
    );
  }

  // ---------------------------------------------------------------- identity and partners

  async descriptor(): Promise<NodeDescriptor> {
    const body = {
      accord: "node-descriptor/1" as const,
      node_id: this.id,
      name: this.d.name,
      url: this.d.publicUrl(),
      keys: {
        signing: this.d.keys.signing.publicJwk,
        encryption: this.d.keys.encryption.publicJwk,
      },
      issued_at: this.nowIso(),
      ...(await this.d.describeKeys?.()),
    };
    return { ...body, signature: await signJson(body, this.d.keys.signing.privateKey) };
  }

  /**
   * The log's latest signed checkpoint (C2SP tlog-checkpoint, signed with this node's Ed25519
   * key), signing a new one first when the tree grew since the last (spec/log.md).
   */
  async checkpoint(): Promise<{ size: number; note: string }> {
    // Never interleaved with a key rotation: each checkpoint is signed by the key its tree names.
    const c = await withKeyLock(this.d.keys, () =>
      currentCheckpoint(
        this.d.store.ledger,
        logSigner(this.id, this.d.keys.signing.privateKey),
        logOrigin(this.id),
        this.nowIso(),
      ),
    );
    return { size: c.size, note: c.note };
  }

  fingerprint(): string {
    return jwkThumbprint(this.d.keys.signing.publicJwk);
  }

  /**
   * Learn a partner from its published descriptor. The descriptor must be signed by the key it
   * names; when `expectedFingerprint` is given (out of band, as operators should), the signing
   * key must match it.
   */
  async addPeer(
    url: string,
    expectedFingerprint?: string,
  ): Promise<Peer & { fingerprint: string }> {
    const raw = await this.d.peerClient.fetchDescriptor(url);
    const desc = parseDescriptor(raw);
    const fingerprint = jwkThumbprint(desc.keys.signing);
    if (expectedFingerprint !== undefined && expectedFingerprint !== fingerprint)
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the node at \`${url}\` presents key fingerprint \`${fingerprint}\`, not the one expected`,
      );
    if (desc.node_id === this.id)
      throw new AccordError("ERR_BAD_REQUEST", "a node cannot be its own partner");
    // The signature covers every member the node published, also those read here (key history).
    const { signature: _signature, ...body } = raw as Record<string, unknown>;
    if (!(await verifyJson(desc.signature, body, desc.keys.signing)))
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the descriptor of \`${desc.node_id}\` is not signed by its own key`,
      );
    const peer: Peer = {
      nodeId: desc.node_id,
      url: desc.url,
      signingKey: { ...desc.keys.signing },
      encryptionKey: { ...desc.keys.encryption },
      addedAt: this.nowIso(),
    };
    await this.d.store.transaction(async (tx) => {
      // Key history is auditable (spec/log.md): a partner's key change is its own event.
      await assertNotRevoked(tx, peer.nodeId, fingerprint);
      const before = await tx.peers.get(peer.nodeId);
      const previous =
        before === undefined
          ? undefined
          : jwkThumbprint(parsePublicJwk(before.signingKey, "Ed25519"));
      await tx.peers.upsert(peer);
      await tx.ledger.append({
        kind: "key-event",
        at: peer.addedAt,
        data: {
          event:
            previous === undefined
              ? "peer-added"
              : previous === fingerprint
                ? "peer-refreshed"
                : "peer-key-changed",
          node: peer.nodeId,
          signing: fingerprint,
          encryption: jwkThumbprint(desc.keys.encryption),
          ...(previous !== undefined && previous !== fingerprint
            ? { previousSigning: previous }
            : {}),
        },
      });
    });
    // The partner's key may make signatures held here verifiable.
    await this.agreementBook.load();
    await this.agreementBook.refresh();
    return { ...peer, fingerprint };
  }

  private nowIso(): string {
    return this.d.clock.now().toISOString();
  }
}

function stixError(
  issues: readonly { objectId?: string; path: string; message: string; code: string }[],
  message: string,
): AccordError {
  const details: ErrorDetail[] = issues.slice(0, 100).map((i) => ({
    path: i.path,
    message: i.message,
    code: i.code,
    ...(i.objectId === undefined ? {} : { objectId: i.objectId }),
  }));
  const first = issues[0];
  const where =
    first === undefined
      ? ""
      : `: ${first.objectId === undefined ? "" : `\`${first.objectId}\` `}${first.path}: ${first.message}`;
  return new AccordError("ERR_STIX_INVALID", `${message}${where}`, { details });
}

/** Split objects into groups whose JSON stays under `target` bytes (a lone larger object gets its own group). */
/**
 * Objects in chunks of about `target` bytes of JSON, each object serialised once: its text both
 * measures it and goes into the bundle (`bundleText`).
 */
function chunkBySize(
  objects: readonly StixObject[],
  target: number,
): { objects: StixObject[]; texts: string[] }[] {
  const chunks: { objects: StixObject[]; texts: string[] }[] = [];
  let current: { objects: StixObject[]; texts: string[] } = { objects: [], texts: [] };
  let size = 0;
  for (const o of objects) {
    const text = JSON.stringify(o);
    if (current.objects.length > 0 && size + text.length > target) {
      chunks.push(current);
      current = { objects: [], texts: [] };
      size = 0;
    }
    current.objects.push(o);
    current.texts.push(text);
    size += text.length;
  }
  if (current.objects.length > 0) chunks.push(current);
  return chunks;
}

/** Accord's extension definitions, serialised once; every shared bundle starts with them. */
const DEFINITIONS_TEXT = [PROVENANCE_EXTENSION_DEFINITION, SOURCE_GRADE_EXTENSION_DEFINITION]
  .map((d) => JSON.stringify(d))
  .join(",");

const COMMA = 0x2c;

/**
 * The UTF-8 bytes of `JSON.stringify({type: "bundle", id, objects: [definitions, ...objects]})`,
 * from the objects' texts already written (tested equal to it in
 * test/federation/share-path.test.ts). Each text is written straight into one buffer: joining
 * them into one string first, then converting that, copied megabytes twice more per envelope.
 */
export function bundleBytes(id: string, texts: readonly string[]): Buffer {
  const head = `{"type":"bundle","id":${JSON.stringify(id)},"objects":[${DEFINITIONS_TEXT}`;
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so no write below is cut short.
  let most = head.length * 3 + 2;
  for (const t of texts) most += t.length * 3 + 1;
  const out = Buffer.allocUnsafe(most);
  let at = out.write(head, 0, "utf8");
  for (const t of texts) {
    out[at++] = COMMA;
    at += out.write(t, at, "utf8");
  }
  at += out.write("]}", at, "utf8");
  return out.subarray(0, at);
}

/** Validate a descriptor received from the network (attacker-controlled). */
function parseDescriptor(raw: unknown): NodeDescriptor {
  const bad = (what: string) =>
    new AccordError("ERR_BAD_REQUEST", `the node descriptor is invalid: ${what}`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("not a JSON object");
  const r = raw as Record<string, unknown>;
  if (r.accord !== "node-descriptor/1") throw bad("`accord` must be `node-descriptor/1`");
  for (const f of ["node_id", "name", "url", "issued_at", "signature"] as const)
    if (typeof r[f] !== "string" || r[f] === "") throw bad(`\`${f}\` must be a non-empty string`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(r.node_id as string))
    throw bad("`node_id` has characters a node id cannot have");
  const keys = r.keys as Record<string, unknown> | undefined;
  if (keys === undefined || typeof keys !== "object") throw bad("`keys` is missing");
  return {
    accord: "node-descriptor/1",
    node_id: r.node_id as string,
    name: r.name as string,
    url: r.url as string,
    issued_at: r.issued_at as string,
    signature: r.signature as string,
    keys: {
      signing: parsePublicJwk(keys.signing, "Ed25519"),
      encryption: parsePublicJwk(keys.encryption, "X25519"),
    },
  };
}

/**
 * Recompute the node's Merkle log from its entries (app/log.ts `verifyStoredLog`): every leaf and
 * tile hash and every checkpoint's root. `firstBroken` is -1 when intact, else the first bad index.
 */
export async function verifyLedger(
  store: Pick<Store, "ledger">,
): Promise<{ size: number; firstBroken: number; problem?: string }> {
  const v = await verifyStoredLog(store.ledger);
  return v.ok
    ? { size: v.size, firstBroken: -1 }
    : { size: v.size, firstBroken: v.firstBad ?? 0, problem: v.problem ?? "" };
}
