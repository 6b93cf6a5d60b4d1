/**
 * TAXII 2.1 use cases (spec/taxii.md): who is asking, which collections they see, and what each
 * collection holds. The HTTP binding lives in src/server/taxii.ts; nothing here knows HTTP.
 *
 * - The operator (the node's API token) sees the local collection (every object stored here,
 *   read and write) and, read-only, each partner collection as its partner would see it.
 * - A partner authenticates with a credential the operator issued (`createCredential`; only a
 *   SHA-256 of its 256-bit secret is stored). It sees one collection whose contents are computed
 *   per request: every stored version in date-added order, passed through
 *   `AccordNode.releaseFor` for that partner and the credential's purpose, so a denied object
 *   never appears and a stripped property never travels. Its POSTs go through the accept decision.
 * - Pages are keyset ranges over the store's date-added sequence (`TaxiiRepo.added`); `next` is
 *   the last sequence number examined, so pages stay stable while objects are being added.
 * - Every read and write lands in the ledger as one `taxii` entry: metadata and a digest only.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { AccordError, type ErrorDetail } from "../errors.js";
import type { StixObject } from "../core/stix/object.js";
import { versionOf } from "../core/stix/object.js";
import { validateBundle } from "../core/stix/validate.js";
import { carriesProvenance, splitProvenance } from "../core/provenance.js";
import type { Consent } from "../core/agreement/lifecycle.js";
import type { AccordNode } from "./node.js";
import { GroupCommit } from "./group-commit.js";
import { TAXII_TARGET_PREFIX } from "./recall.js";
import type {
  AddedEntry,
  AddedJson,
  AddedQuery,
  Clock,
  Logger,
  Random,
  ReissuedId,
  SharedCopy,
  Store,
  StoredObject,
  TaxiiCredential,
  WriteStep,
} from "./ports.js";

export const TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1";
export const STIX_MEDIA_TYPE = "application/stix+json;version=2.1";
/** The one API root this node serves, under the discovery prefix. */
export const API_ROOT = "api";
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;
/** A partner page examines at most this many stored versions before answering (with more=true). */
export const MAX_SCAN = 10_000;
/** The re-issued id index is brought up to date this many stored versions per transaction. */
const REISSUE_BATCH = 10_000;
/** The reserved Basic username of the operator (password: the node's API token). */
export const OPERATOR_USER = "operator";

const CREDENTIAL_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export type TaxiiPrincipal =
  | { readonly kind: "operator" }
  | { readonly kind: "partner"; readonly credential: TaxiiCredential };

export interface TaxiiCollection {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly canRead: boolean;
  readonly canWrite: boolean;
  /** The partner view this collection computes, or undefined for the local collection. */
  readonly credential?: TaxiiCredential;
}

/** Query parameters as they arrive (already split from the URL); all attacker-controlled. */
export interface TaxiiQuery {
  readonly limit?: string;
  readonly next?: string;
  readonly addedAfter?: string;
  /** match[<field>] values, each already split on commas. */
  readonly match?: Readonly<Record<string, readonly string[]>>;
}

export interface TaxiiItem {
  readonly id: string;
  readonly version: string;
  readonly dateAdded: string;
  /** The object as JSON text: stored text for the local collection, the released copy for a partner. */
  readonly json: string;
}

export interface TaxiiPage {
  readonly items: readonly TaxiiItem[];
  readonly more: boolean;
  readonly next?: string;
  /** date_added of the first and last item, for X-TAXII-Date-Added-First/Last. */
  readonly first?: string;
  readonly last?: string;
}

export interface TaxiiStatus {
  readonly id: string;
  readonly status: "complete";
  readonly request_timestamp: string;
  readonly total_count: number;
  readonly success_count: number;
  readonly successes: readonly { id: string; version: string; message?: string }[];
  readonly failure_count: number;
  readonly failures: readonly { id: string; version: string; message?: string }[];
  readonly pending_count: 0;
  readonly pendings: readonly never[];
}

export interface TaxiiDeps {
  readonly node: AccordNode;
  readonly store: Store;
  /** The node's API token: the operator's bearer token and Basic password. */
  readonly apiToken: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger?: Logger;
  /** The longest a read's log entry waits for its group commit (default AUDIT_DELAY_MS). */
  readonly auditDelayMs?: number;
}

/** Reads' log entries are committed together at most this long after the read. */
export const AUDIT_DELAY_MS = 100;
const AUDIT_BATCH = 2000;

interface PendingEntry {
  kind: string;
  at: string;
  data: Record<string, unknown>;
}

/**
 * Group commit for the log entries of reads: entries wait at most `delayMs` (or until 2,000 are
 * waiting) and are appended to the ledger in one transaction, so a page read costs no commit of
 * its own (spec/taxii.md, "Logging"). `flush()` runs on server close; a failed commit is retried
 * at the next one, keeping order.
 */
class AuditLog {
  private entries: PendingEntry[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger | undefined,
    private readonly delayMs: number,
  ) {}

  record(entry: PendingEntry): void {
    this.entries.push(entry);
    if (this.entries.length >= AUDIT_BATCH) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.delayMs);
      this.timer.unref();
    }
  }

  flush(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.running.then(() => this.commit());
    return this.running;
  }

  private async commit(): Promise<void> {
    const entries = this.entries;
    if (entries.length === 0) return;
    this.entries = [];
    try {
      await this.store.transaction(async (tx) => {
        for (const e of entries) await tx.ledger.append(e);
      });
    } catch (e) {
      this.entries = [...entries, ...this.entries];
      this.logger?.error(
        { code: (e as { code?: string }).code, entries: entries.length },
        "TAXII log entries could not be committed; retrying",
      );
      if (this.timer === undefined) {
        this.timer = setTimeout(() => void this.flush(), this.delayMs);
        this.timer.unref();
      }
    }
  }
}

export interface NewCredential {
  readonly id: string;
  readonly partner: string;
  readonly purpose: string;
  readonly agreementId?: string;
  readonly canRead?: boolean;
  readonly canWrite?: boolean;
}

export class TaxiiService {
  private readonly d: TaxiiDeps;
  private readonly operatorHash: Buffer;
  private readonly audit: AuditLog;
  /** POSTs' writes: concurrent requests share one durable commit (src/app/group-commit.ts). */
  readonly writes: GroupCommit;
  /** Catch-ups of the re-issued id index under way, per agreement, so concurrent reads share one. */
  private readonly indexing = new Map<string, Promise<void>>();

  constructor(deps: TaxiiDeps) {
    this.d = deps;
    this.operatorHash = sha256(deps.apiToken);
    this.audit = new AuditLog(deps.store, deps.logger, deps.auditDelayMs ?? AUDIT_DELAY_MS);
    this.writes = new GroupCommit(deps.store);
  }

  // ------------------------------------------------------------------ credentials

  /** Issue a credential for a partner (see `issueTaxiiCredential`). */
  createCredential(
    c: NewCredential,
  ): Promise<{ credential: TaxiiCredential; secret: string; token: string }> {
    return issueTaxiiCredential(this.d, c);
  }

  revokeCredential(id: string): Promise<void> {
    return revokeTaxiiCredential(this.d, id);
  }

  // ------------------------------------------------------------------ authentication

  /**
   * Who is asking, from an Authorization header: `Bearer <api token>` or `Basic operator:<api
   * token>` for the operator; `Bearer <credential id>.<secret>` or `Basic <credential id>:<secret>`
   * for a partner. Anything else is ERR_UNAUTHENTICATED, and says nothing about which part failed.
   */
  async authenticate(header: string | undefined): Promise<TaxiiPrincipal> {
    const fail = () =>
      new AccordError(
        "ERR_UNAUTHENTICATED",
        "valid TAXII credentials (Basic or Bearer) are required",
      );
    if (header === undefined) throw fail();
    let user: string | undefined;
    let secret: string;
    if (/^bearer /i.test(header)) {
      secret = header.slice(7).trim();
      if (safeEqual(sha256(secret), this.operatorHash)) return { kind: "operator" };
      const dot = secret.indexOf(".");
      if (dot <= 0) throw fail();
      user = secret.slice(0, dot);
      secret = secret.slice(dot + 1);
    } else if (/^basic /i.test(header)) {
      const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw fail();
      user = decoded.slice(0, colon);
      secret = decoded.slice(colon + 1);
      if (user === OPERATOR_USER) {
        if (safeEqual(sha256(secret), this.operatorHash)) return { kind: "operator" };
        throw fail();
      }
    } else throw fail();
    const given = sha256(secret);
    const credential = CREDENTIAL_ID.test(user)
      ? await this.d.store.taxii.getCredential(user)
      : undefined;
    // Compare even when there is no such credential, so timing does not tell which ids exist.
    const expected =
      credential === undefined
        ? sha256(`absent:${user}`)
        : Buffer.from(credential.secretHash, "hex");
    if (!safeEqual(given, expected) || credential === undefined) throw fail();
    return { kind: "partner", credential };
  }

  // ------------------------------------------------------------------ collections

  async collections(p: TaxiiPrincipal): Promise<TaxiiCollection[]> {
    if (p.kind === "partner") return [this.partnerCollection(p.credential, false)];
    const creds = await this.d.store.taxii.listCredentials();
    return [this.localCollection(), ...creds.map((c) => this.partnerCollection(c, true))];
  }

  async collection(p: TaxiiPrincipal, id: string): Promise<TaxiiCollection> {
    // The collections a request names most (its own) are known without reading the credentials.
    if (p.kind === "operator" && id === this.localId) return this.localCollection();
    if (p.kind === "partner") {
      const own = this.partnerCollection(p.credential, false);
      if (own.id === id) return own;
    }
    const found = (await this.collections(p)).find((c) => c.id === id);
    if (found === undefined)
      throw new AccordError("ERR_NOT_FOUND", `no collection \`${id}\` is available to you`);
    return found;
  }

  private get localId(): string {
    return (this.localIdMemo ??= collectionId(this.d.node.id, "local"));
  }
  private localIdMemo: string | undefined;

  private localCollection(): TaxiiCollection {
    return {
      id: this.localId,
      title: `${this.d.node.id}: local`,
      description: "Every object stored on this node (operator only).",
      canRead: true,
      canWrite: true,
    };
  }

  private partnerCollection(c: TaxiiCredential, operatorView: boolean): TaxiiCollection {
    return {
      id: collectionId(this.d.node.id, `partner:${c.id}`),
      title: `${this.d.node.id} for ${c.partner} (${c.purpose})`,
      description: `What the agreements in force release to ${c.partner} for ${c.purpose}, minimized for it.`,
      canRead: c.canRead || operatorView,
      canWrite: c.canWrite && !operatorView,
      credential: c,
    };
  }

  // ------------------------------------------------------------------ reads

  /** GET objects (or one object's versions when `objectId` is given); 404 when `objectId` has none visible. */
  async objects(
    p: TaxiiPrincipal,
    collection: string,
    q: TaxiiQuery,
    objectId?: string,
  ): Promise<TaxiiPage> {
    const c = await this.readable(p, collection);
    const { page, copies } = await this.page(c, q, objectId);
    if (objectId !== undefined && page.items.length === 0 && !page.more)
      throw new AccordError("ERR_NOT_FOUND", `no object \`${objectId}\` in this collection`);
    await this.recordCopies(p, copies);
    this.logRead(p, c, objectId === undefined ? "get-objects" : "get-object", page);
    return page;
  }

  async manifest(p: TaxiiPrincipal, collection: string, q: TaxiiQuery): Promise<TaxiiPage> {
    const c = await this.readable(p, collection);
    // A manifest shows ids and versions, not objects: no copy leaves, none is recorded.
    const { page } = await this.page(c, q);
    this.logRead(p, c, "get-manifest", page);
    return page;
  }

  /** Every visible version of one object (match[version] does not apply here, per the spec). */
  async versions(
    p: TaxiiPrincipal,
    collection: string,
    objectId: string,
    q: TaxiiQuery,
  ): Promise<TaxiiPage> {
    const c = await this.readable(p, collection);
    const match = { ...(q.match ?? {}), version: ["all"] };
    const { page, copies } = await this.page(c, { ...q, match }, objectId);
    if (page.items.length === 0 && !page.more)
      throw new AccordError("ERR_NOT_FOUND", `no object \`${objectId}\` in this collection`);
    await this.recordCopies(p, copies);
    this.logRead(p, c, "get-versions", page);
    return page;
  }

  /**
   * Who got what, for recall (spec/recall.md, "Copies read by TAXII"): the copies a partner read
   * from its collection, one row per object version, written in one statement per page through
   * the group commit (concurrent reads share a durable commit) and durable before the page is
   * answered. The operator's preview of a partner collection is not a copy leaving the node.
   */
  private async recordCopies(p: TaxiiPrincipal, copies: readonly SharedCopy[]): Promise<void> {
    if (p.kind !== "partner" || copies.length === 0) return;
    await this.writes.run([{ op: "recordCopies", copies }], copies.length);
  }

  private async readable(p: TaxiiPrincipal, collection: string): Promise<TaxiiCollection> {
    const c = await this.collection(p, collection);
    if (!c.canRead)
      throw new AccordError("ERR_FORBIDDEN", "this credential may not read this collection");
    return c;
  }

  private async page(
    c: TaxiiCollection,
    q: TaxiiQuery,
    objectId?: string,
  ): Promise<{ page: TaxiiPage; copies: readonly SharedCopy[] }> {
    const limit = parseLimit(q.limit);
    const filters = parseFilters(q, objectId);
    const cursor = parseNext(q.next);
    const cred = c.credential;
    if (cred === undefined) {
      // The local collection: stored JSON text, served as is (no parse, no re-serialisation).
      const rows = await this.d.store.taxii.addedJson({
        ...filters,
        afterSeq: cursor,
        limit: limit + 1,
      });
      const more = rows.length > limit;
      const items = (more ? rows.slice(0, limit) : rows).map(jsonItem);
      return { page: pageOf(items, more, more ? rows[limit - 1]?.seq : undefined), copies: [] };
    }
    return this.partnerPage(cred, filters, cursor, limit);
  }

  /**
   * A page of a partner collection: stored versions in date-added order through `releaseFor`. A
   * profile may re-issue ids, so `match[id]` names released ids: the stored ids they were
   * re-issued from come from the index (migration 9), and the released copy's id is checked.
   */
  private async partnerPage(
    cred: TaxiiCredential,
    filters: Omit<AddedQuery, "afterSeq" | "limit">,
    start: number,
    limit: number,
  ): Promise<{ page: TaxiiPage; copies: SharedCopy[] }> {
    const { ids, ...rest } = filters;
    let base: Omit<AddedQuery, "afterSeq" | "limit"> = rest;
    const wanted = ids === undefined ? undefined : new Set(ids);
    if (ids !== undefined) {
      const originals = ids.length === 0 ? [] : await this.originalIds(cred, ids);
      base = { ...rest, ids: [...new Set([...ids, ...originals])] };
    }
    let cursor = start;
    const batch = limit + 1;
    const items: TaxiiItem[] = [];
    const copies: SharedCopy[] = [];
    let scanned = 0;
    let more = false;
    const at = this.d.clock.now();
    const atIso = at.toISOString();
    /** Consents held for objects other nodes originated, per stored id (loaded once per page). */
    const consents = new Map<string, readonly Consent[]>();
    outer: for (;;) {
      const rows = await this.d.store.taxii.added({ ...base, afterSeq: cursor, limit: batch });
      for (const row of rows) {
        if (items.length === limit || scanned >= MAX_SCAN) {
          more = true;
          break outer;
        }
        cursor = row.seq;
        scanned++;
        const released = await this.releasedItem(row, cred, at, consents);
        if (released === undefined) continue;
        const { item, agreement } = released;
        if (wanted !== undefined && !wanted.has(item.id)) continue;
        items.push(item);
        copies.push({
          objectId: row.stored.object.id,
          sentAs: item.id,
          version: versionOf(row.stored.object),
          recipient: cred.partner,
          envelopeId: `${TAXII_TARGET_PREFIX}${cred.id}`,
          agreement,
          purpose: cred.purpose,
          sharedAt: atIso,
          credential: cred.id,
        });
      }
      if (rows.length < batch) break;
    }
    return { page: pageOf(items, more, more ? cursor : undefined), copies };
  }

  /**
   * The stored ids that `ids` were re-issued from for this partner, after bringing the index up
   * to date with every version stored so far (for each agreement that can govern the partner).
   */
  private async originalIds(c: TaxiiCredential, ids: readonly string[]): Promise<string[]> {
    const now = this.d.clock.now();
    const agreements =
      c.agreementId !== null
        ? [c.agreementId]
        : this.d.node
            .governedAgreements(now)
            .filter((g) => g.agreement.doc.parties.some((p) => p.node === c.partner))
            .map((g) => g.agreement.id);
    if (agreements.length === 0) return [];
    for (const a of agreements) await this.indexReissued(a);
    return this.d.store.taxii.originalIds(agreements, ids);
  }

  private indexReissued(agreementId: string): Promise<void> {
    let running = this.indexing.get(agreementId);
    if (running === undefined) {
      running = this.catchUpIndex(agreementId).finally(() => this.indexing.delete(agreementId));
      this.indexing.set(agreementId, running);
    }
    return running;
  }

  /** Map every version stored after the agreement's mark, 10,000 per transaction. */
  private async catchUpIndex(agreementId: string): Promise<void> {
    const taxii = this.d.store.taxii;
    let mark = await taxii.reissuedMark(agreementId);
    for (;;) {
      const rows = await taxii.addedIds(mark, REISSUE_BATCH);
      const last = rows.at(-1);
      if (last === undefined) return;
      const entries: ReissuedId[] = [];
      for (const r of rows) {
        const reissued = this.d.node.reissuedId(agreementId, r.id);
        if (reissued === undefined) return; // no minimization secret: ids are never re-issued
        if (reissued !== r.id) entries.push({ reissuedId: reissued, originalId: r.id });
      }
      mark = last.seq;
      await taxii.indexReissued(agreementId, entries, mark);
    }
  }

  /**
   * One stored version as the partner may see it, or undefined when it may not. Another node's
   * object goes on only as an onward hop, with its originator's consent for exactly this hop
   * (holder this node, recipient the partner, the agreement and purpose), as in a share.
   */
  private async releasedItem(
    row: AddedEntry,
    c: TaxiiCredential,
    at: Date,
    consentCache: Map<string, readonly Consent[]>,
  ): Promise<{ item: TaxiiItem; agreement: string } | undefined> {
    const id = row.stored.object.id;
    let consents: readonly Consent[] | undefined;
    if (row.stored.provenance.originator !== this.d.node.id) {
      consents = consentCache.get(id);
      if (consents === undefined) {
        consents = await this.d.node.agreementBook.consentsFor(id, at);
        consentCache.set(id, consents);
      }
    }
    const r = this.d.node.releaseFor(row.stored, {
      partner: c.partner,
      // The operator vouched for this partner by issuing the credential; whether it may receive
      // anything is for the agreements (a non-party is denied by default).
      known: true,
      purpose: c.purpose,
      at,
      ...(consents === undefined ? {} : { consents }),
      ...(c.agreementId === null ? {} : { agreementId: c.agreementId }),
    });
    if (r.effect === "deny") return undefined;
    const dateAdded = formatUs(row.dateAddedUs);
    return {
      item: {
        id: r.object.id,
        version: versionOf(r.object) || dateAdded,
        dateAdded,
        json: JSON.stringify(r.object),
      },
      agreement: `${r.agreement.id} v${r.agreement.version}`,
    };
  }

  // ------------------------------------------------------------------ writes

  /**
   * POST an envelope: the whole request is refused when any object is not valid STIX 2.1. The
   * checks run first; the writes (objects, log entries, status) go through the group commit and
   * the status is answered once they are durable.
   */
  async add(p: TaxiiPrincipal, collection: string, envelope: unknown): Promise<TaxiiStatus> {
    const c = await this.collection(p, collection);
    if (!c.canWrite)
      throw new AccordError("ERR_FORBIDDEN", "this credential may not write to this collection");
    const objects = envelopeObjects(envelope);
    const at = this.d.clock.now();
    const atIso = at.toISOString();
    const bundle = { type: "bundle", id: `bundle--${this.d.random.uuid()}`, objects };
    const statusId = this.d.random.uuid();
    const owner = p.kind === "operator" ? OPERATOR_USER : p.credential.id;
    /** The status and the `add-objects` entry, written last in the request's plan. */
    const answered = (status: TaxiiStatus, data: Record<string, unknown>): WriteStep[] => [
      { op: "putStatus", status: { id: statusId, owner, createdAt: atIso, body: { ...status } } },
      { op: "append", entry: { kind: "taxii", at: atIso, data } },
    ];
    const entry = (accepted: number, rejected: number, digest: string) => ({
      op: "add-objects",
      principal: owner,
      ...(c.credential === undefined ? {} : { partner: c.credential.partner }),
      collection: c.id,
      status: statusId,
      objects: objects.length,
      accepted,
      rejected,
      digest,
    });

    if (c.credential === undefined) {
      const checked = this.d.node.checkIngest(bundle);
      const successes = objects.map((o) => ({ id: o.id, version: versionOf(o) }));
      const status = statusOf(statusId, atIso, successes, []);
      const data = entry(objects.length, 0, digestOf(successes));
      await this.writes.run(
        [this.d.node.ingestStep(checked), ...answered(status, data)],
        objects.length,
      );
      return status;
    }

    const verdict = validateBundle(bundle);
    if (!verdict.valid) throw stixError(verdict.issues);
    const cred = c.credential;
    const successes: { id: string; version: string; message?: string }[] = [];
    const failures: { id: string; version: string; message: string }[] = [];
    const toStore: StoredObject[] = [];
    const decisions: Record<string, unknown>[] = [];
    for (const raw of objects) {
      const version = versionOf(raw);
      const verdictOne = this.acceptFromPartner(raw, cred, at);
      if ("reason" in verdictOne)
        failures.push({ id: raw.id, version, message: verdictOne.reason });
      else {
        toStore.push(verdictOne.stored);
        successes.push({ id: raw.id, version });
      }
      decisions.push({
        action: "accept",
        object: raw.id,
        version,
        partner: cred.partner,
        purpose: cred.purpose,
        via: "taxii",
        effect: "reason" in verdictOne ? "deny" : "permit",
        clauses: verdictOne.clauses,
      });
    }
    const status = statusOf(statusId, atIso, successes, failures);
    const data = entry(successes.length, failures.length, digestOf(successes));
    await this.writes.run(
      [
        { op: "putObjects", objects: toStore },
        ...decisions.map((d): WriteStep => ({
          op: "append",
          entry: { kind: "decision", at: atIso, data: d },
        })),
        ...answered(status, data),
      ],
      objects.length,
    );
    return status;
  }

  /**
   * The accept decision for one object a partner POSTs (the TAXII counterpart of the inbox's
   * per-object check): an Accord provenance extension, when present, must name the partner as
   * originator and is removed; then decide(accept) for the partner and the credential's purpose.
   */
  private acceptFromPartner(
    raw: StixObject,
    c: TaxiiCredential,
    at: Date,
  ): { stored: StoredObject; clauses: string[] } | { reason: string; clauses: string[] } {
    let object = raw;
    if (carriesProvenance(raw)) {
      const split = splitProvenance(raw);
      if (typeof split === "string") return { reason: split, clauses: [] };
      if (split.provenance.originator !== c.partner)
        return {
          reason: `\`${raw.id}\` names originator \`${split.provenance.originator}\`; onward hops are not accepted`,
          clauses: [],
        };
      object = split.object;
    }
    const decision = this.d.node.explain(object, {
      action: "accept",
      partner: c.partner,
      purpose: c.purpose,
      ...(c.agreementId === null ? {} : { agreementId: c.agreementId }),
    });
    const clauses = decision.reasons.map((r) => r.clause);
    if (decision.effect === "deny")
      return { reason: decision.reasons[0]?.message ?? "denied", clauses };
    return {
      clauses,
      stored: {
        object,
        provenance: {
          originator: c.partner,
          receivedFrom: c.partner,
          agreementId: decision.agreement.id,
          agreementVersion: decision.agreement.version,
          purpose: c.purpose,
          retentionUntil: decision.obligations.retentionUntil,
          envelopeId: null,
        },
        storedAt: at.toISOString(),
      },
    };
  }

  /** DELETE an object (all versions, or those match[version] names): the operator, on the local collection only. */
  async remove(
    p: TaxiiPrincipal,
    collection: string,
    objectId: string,
    q: TaxiiQuery,
  ): Promise<number> {
    const c = await this.collection(p, collection);
    if (p.kind !== "operator" || c.credential !== undefined)
      throw new AccordError(
        "ERR_FORBIDDEN",
        "only the operator may delete, and only from the local collection",
      );
    const asked = q.match?.version;
    const explicit = asked?.filter((v) => v !== "all" && v !== "first" && v !== "last");
    let versions: readonly string[] | "all" = "all";
    if (asked !== undefined && !asked.includes("all")) {
      const all = await this.d.store.taxii.addedVersions(objectId);
      const keys = all.map((e) => versionOf(e.stored.object));
      const chosen = new Set(explicit);
      if (asked.includes("first") && keys[0] !== undefined) chosen.add(keys[0]);
      const lastKey = keys.at(-1);
      if (asked.includes("last") && lastKey !== undefined) chosen.add(lastKey);
      versions = [...chosen];
      for (const v of versions) checkTimestamp(v, "match[version]");
    }
    const at = this.d.clock.now().toISOString();
    return this.d.store.transaction(async (tx) => {
      const n = await tx.taxii.deleteObject(objectId, versions);
      if (n === 0)
        throw new AccordError("ERR_NOT_FOUND", `no object \`${objectId}\` in this collection`);
      await tx.ledger.append({
        kind: "taxii",
        at,
        data: {
          op: "delete-object",
          principal: OPERATOR_USER,
          collection: c.id,
          object: objectId,
          versions: n,
        },
      });
      return n;
    });
  }

  async status(p: TaxiiPrincipal, id: string): Promise<Readonly<Record<string, unknown>>> {
    const s = await this.d.store.taxii.getStatus(id);
    const owner = p.kind === "operator" ? OPERATOR_USER : p.credential.id;
    if (s === undefined || (s.owner !== owner && p.kind !== "operator"))
      throw new AccordError("ERR_NOT_FOUND", `no status \`${id}\``);
    return s.body;
  }

  /** Write every log entry and status still waiting for its group commit. */
  flush(): Promise<void> {
    return this.audit.flush();
  }

  private logRead(p: TaxiiPrincipal, c: TaxiiCollection, op: string, page: TaxiiPage): void {
    this.audit.record({
      kind: "taxii",
      at: this.d.clock.now().toISOString(),
      data: {
        op,
        principal: p.kind === "operator" ? OPERATOR_USER : p.credential.id,
        ...(c.credential === undefined
          ? {}
          : { partner: c.credential.partner, purpose: c.credential.purpose }),
        collection: c.id,
        objects: page.items.length,
        more: page.more,
        digest: digestOf(page.items),
      },
    });
  }
}

// -------------------------------------------------------------------- helpers

/** Issue a credential for a partner. The secret is returned once; only its SHA-256 is kept. */
export async function issueTaxiiCredential(
  d: Pick<TaxiiDeps, "store" | "clock" | "random">,
  c: NewCredential,
): Promise<{ credential: TaxiiCredential; secret: string; token: string }> {
  if (!CREDENTIAL_ID.test(c.id) || c.id === OPERATOR_USER)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `a TAXII credential id is 1 to 64 letters, digits, \`_\` or \`-\` and not \`${OPERATOR_USER}\`; \`${c.id}\` is not`,
    );
  if (c.partner === "" || c.purpose === "")
    throw new AccordError("ERR_BAD_REQUEST", "a TAXII credential needs a partner and a purpose");
  const secret = Buffer.from(d.random.bytes(32)).toString("base64url");
  const credential: TaxiiCredential = {
    id: c.id,
    partner: c.partner,
    purpose: c.purpose,
    agreementId: c.agreementId ?? null,
    canRead: c.canRead ?? true,
    canWrite: c.canWrite ?? false,
    secretHash: sha256(secret).toString("hex"),
    createdAt: d.clock.now().toISOString(),
  };
  await d.store.transaction(async (tx) => {
    await tx.taxii.putCredential(credential);
    await tx.ledger.append({
      kind: "taxii-credential",
      at: credential.createdAt,
      data: {
        event: "issued",
        credential: credential.id,
        partner: credential.partner,
        purpose: credential.purpose,
        agreement: credential.agreementId,
        read: credential.canRead,
        write: credential.canWrite,
      },
    });
  });
  return { credential, secret, token: `${credential.id}.${secret}` };
}

/** Remove a credential; its holder is refused from the next request on. */
export async function revokeTaxiiCredential(
  d: Pick<TaxiiDeps, "store" | "clock">,
  id: string,
): Promise<void> {
  const at = d.clock.now().toISOString();
  await d.store.transaction(async (tx) => {
    if (!(await tx.taxii.removeCredential(id)))
      throw new AccordError("ERR_NOT_FOUND", `no TAXII credential \`${id}\``);
    await tx.ledger.append({
      kind: "taxii-credential",
      at,
      data: { event: "revoked", credential: id },
    });
  });
}

/** A stable UUID (version 5 layout, SHA-256 based) naming one collection of one node. */
export function collectionId(nodeId: string, name: string): string {
  const h = createHash("sha256").update(`accord-taxii-collection\n${nodeId}\n${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Microseconds since the epoch as an RFC 3339 UTC timestamp with six fractional digits. */
export function formatUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // ...ss.mmmZ
  return `${iso.slice(0, 23)}${String(us - ms * 1000).padStart(3, "0")}Z`;
}

const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/;

/** An RFC 3339 UTC timestamp ("Z", up to nanoseconds) as microseconds since the epoch, truncated. */
export function parseTimestampUs(s: string, what: string): number {
  const m = TIMESTAMP.exec(s);
  const ms = m === null ? NaN : Date.parse(`${m[1] ?? ""}Z`);
  if (m === null || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== m[1])
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`${what}\` must be an RFC 3339 timestamp in UTC such as 2026-01-02T03:04:05.000Z, not \`${s}\``,
    );
  const frac = (m[2] ?? "").padEnd(6, "0").slice(0, 6);
  return ms * 1000 + Number(frac);
}

function checkTimestamp(s: string, what: string): void {
  parseTimestampUs(s, what);
}

function jsonItem(row: AddedJson): TaxiiItem {
  const dateAdded = formatUs(row.dateAddedUs);
  return { id: row.id, version: row.version || dateAdded, dateAdded, json: row.json };
}

/** A page's envelope fields: `next` (the last seq examined) only when there is more. */
function pageOf(items: TaxiiItem[], more: boolean, next: number | undefined): TaxiiPage {
  const first = items[0];
  const last = items.at(-1);
  return {
    items,
    more,
    ...(more && next !== undefined ? { next: String(next) } : {}),
    ...(first === undefined || last === undefined
      ? {}
      : { first: first.dateAdded, last: last.dateAdded }),
  };
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PAGE;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`limit\` must be a positive integer, not \`${raw}\``,
    );
  return Math.min(n, MAX_PAGE);
}

function parseNext(raw: string | undefined): number {
  if (raw === undefined) return 0;
  if (!/^\d{1,15}$/.test(raw))
    throw new AccordError("ERR_BAD_REQUEST", `\`next\` is not a value this server gave out`);
  return Number(raw);
}

const MATCH_FIELDS = new Set(["id", "type", "version", "spec_version"]);

function parseFilters(q: TaxiiQuery, objectId?: string): Omit<AddedQuery, "afterSeq" | "limit"> {
  const match = q.match ?? {};
  for (const k of Object.keys(match))
    if (!MATCH_FIELDS.has(k))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`match[${k}]\` is not a filter this server supports (id, type, version, spec_version)`,
      );
  const list = (k: string): readonly string[] | undefined => {
    const v = match[k];
    if (v === undefined) return undefined;
    const clean = v.filter((s) => s !== "");
    if (clean.length === 0 || clean.length > 100)
      throw new AccordError("ERR_BAD_REQUEST", `\`match[${k}]\` needs 1 to 100 values`);
    return clean;
  };
  let ids = list("id");
  if (objectId !== undefined) ids = ids === undefined || ids.includes(objectId) ? [objectId] : [];
  const versions = list("version");
  for (const v of versions ?? [])
    if (v !== "all" && v !== "first" && v !== "last") checkTimestamp(v, "match[version]");
  const types = list("type");
  const specVersions = list("spec_version");
  return {
    ...(ids === undefined ? {} : { ids }),
    ...(types === undefined ? {} : { types }),
    ...(specVersions === undefined ? {} : { specVersions }),
    ...(versions === undefined ? {} : { versions }),
    ...(q.addedAfter === undefined
      ? {}
      : { addedAfterUs: parseTimestampUs(q.addedAfter, "added_after") }),
  };
}

function envelopeObjects(envelope: unknown): StixObject[] {
  if (envelope === null || typeof envelope !== "object" || Array.isArray(envelope))
    throw new AccordError("ERR_BAD_REQUEST", "the body must be a TAXII envelope (a JSON object)");
  const objects = (envelope as { objects?: unknown }).objects;
  if (!Array.isArray(objects) || objects.length === 0)
    throw new AccordError("ERR_BAD_REQUEST", "the envelope's `objects` must be a non-empty list");
  return objects as StixObject[];
}

/** ERR_STIX_INVALID naming the first problem; `what` is the refused body ("the envelope"). */
export function stixError(
  issues: readonly { objectId?: string; path: string; message: string; code: string }[],
  what = "the envelope",
): AccordError {
  const details: ErrorDetail[] = issues.slice(0, 100).map((i) => ({
    path: i.path,
    message: i.message,
    code: i.code,
    ...(i.objectId === undefined ? {} : { objectId: i.objectId }),
  }));
  const f = issues[0];
  return new AccordError(
    "ERR_STIX_INVALID",
    `${what} is not valid STIX 2.1, nothing was stored${f === undefined ? "" : `: ${f.objectId === undefined ? "" : `\`${f.objectId}\` `}${f.path}: ${f.message}`}`,
    { details },
  );
}

function statusOf(
  id: string,
  at: string,
  successes: { id: string; version: string; message?: string }[],
  failures: { id: string; version: string; message?: string }[],
): TaxiiStatus {
  return {
    id,
    status: "complete",
    request_timestamp: at,
    total_count: successes.length + failures.length,
    success_count: successes.length,
    successes,
    failure_count: failures.length,
    failures,
    pending_count: 0,
    pendings: [],
  };
}

/**
 * The digest a read or write entry carries of the objects it concerns: SHA-256 over each one's
 * `id\nversion\n`, in order (TAXII entries here; the API's `access` entries, ./object-reads.ts).
 */
export function digestOf(items: readonly { id: string; version: string }[]): string {
  const h = createHash("sha256");
  for (const i of items) h.update(`${i.id}\n${i.version}\n`);
  return h.digest("hex");
}

function sha256(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
