/**
 * The agreements a running node enforces (spec/agreement.md "Enforcement on a node"): every held
 * version, the parties' signatures, lifecycle events, and the state each version is in at each
 * moment, which is what `decide()` is given.
 *
 * - A version is in force only when every party's signature over its canonical hash verifies
 *   under the key this node knows for that party (its own key, or the partner's from the peer
 *   registry); an amendment waits for its effective date; suspended, terminated and expired
 *   versions deny. The pure rules are src/core/agreement/lifecycle.ts; this module feeds them.
 * - Per agreement id one version is given to `decide()` at a time: the one in force, else the one
 *   whose state best explains why nothing is (so a denial quotes the lifecycle).
 * - Every change of a version's state is recorded once (kind `agreement-transition`, metadata
 *   only) and the state is kept in the store, so a restart does not log it again.
 * - Signatures and events travel between the parties in a signed exchange message
 *   (`accord-agreement-exchange/1`): POSTed to each party, which answers with what it holds.
 *   Everything in a message is attacker-controlled until verified; a message with any signature
 *   or event that fails verification is refused whole and nothing of it is written.
 */
import { AccordError } from "../errors.js";
import { parseAgreement, type Agreement } from "../core/agreement/parse.js";
import {
  lifecycleState,
  signAgreement,
  signConsent,
  verifyConsent,
  type Consent,
  verifySignatures,
  type AgreementSignature,
  type AgreementState,
  type GovernedAgreement,
  type LifecycleEvent,
  type LifecycleStatus,
  type SignatureCheck,
} from "../core/agreement/lifecycle.js";
import { canonicalize } from "../crypto/jcs.js";
import { sha256Hex } from "../crypto/hash.js";
import { parsePublicJwk, type NodeKeys, type PublicJwk } from "../crypto/keys.js";
import { signatureKeyId, signJson, verifyJson } from "../crypto/sign.js";
import { partnerSigningKey, signingKeyHistory, type KnownSigningKey } from "./key-rotation.js";
import { nextAttemptAt } from "./retry.js";
import type {
  AgreementEventRecord,
  AgreementExchangeRecord,
  AgreementSignatureRecord,
  Clock,
  ConsentPushRecord,
  Logger,
  Peer,
  Random,
  Store,
} from "./ports.js";

export const EXCHANGE_TYPE = "accord-agreement-exchange/1";
export const EVENT_TYPE = "accord-agreement-event/1";
/** An exchange message dated further than this from the receiver's clock is refused. */
export const EXCHANGE_MAX_SKEW_MS = 3_600_000;
/**
 * Signatures (one per party: at most 64) and events per message. More events than this travel
 * in pages (`page`/`pages`), one signed message each.
 */
const MAX_ITEMS = 256;
/**
 * A partner's answer is followed page by page only while its pages carry events, and never past
 * this many pages (2^20 events on one agreement): a bound on one exchange's work, not on what an
 * agreement may hold; an exchange that hits it stays pending and says so.
 */
const MAX_PAGES = 4096;
const EVENT_KINDS = ["suspend", "resume", "suspend-party", "resume-party", "terminate"] as const;
type EventKind = (typeof EVENT_KINDS)[number];

/** How this node reaches a partner's agreement exchange (federation implements it over HTTP). */
export interface AgreementExchange {
  /** POST `message` to the partner; resolves with its answer (attacker-controlled). */
  exchange(peer: Peer, message: ExchangeMessage): Promise<unknown>;
  /** POST a consent this node signed to its holder; resolves with the holder's answer. */
  pushConsent(peer: Peer, consent: Consent): Promise<unknown>;
}

/** One signature as it travels. */
export interface WireSignature {
  readonly node: string;
  readonly jws: string;
}

/** One lifecycle event as it travels: signed by the node that recorded it. */
export interface WireEvent {
  readonly kind: EventKind;
  readonly at: string;
  readonly by: string;
  readonly party: string | null;
  readonly reason: string | null;
  readonly recorded_by: string;
  readonly jws: string;
}

/** spec/agreement.md "Signature exchange". */
export interface ExchangeMessage {
  readonly type: typeof EXCHANGE_TYPE;
  readonly from: string;
  readonly to: string;
  readonly at: string;
  readonly agreement: string;
  readonly version: number;
  readonly hash: string;
  readonly signatures: readonly WireSignature[];
  readonly events: readonly WireEvent[];
  /**
   * Which page of the sender's events this message carries, and which page of the receiver's
   * events its answer should carry (default 0); `pages`: how many the sender has (default 1).
   * Both are present only when the sender has more than one page or asks for a later one.
   */
  readonly page?: number;
  readonly pages?: number;
  /** Detached JWS by `from` over every other member. */
  readonly jws: string;
}

export interface VersionView {
  readonly version: number;
  readonly hash: string;
  readonly title: string;
  readonly effectiveFrom: string;
  readonly sunset: string;
  readonly status: LifecycleStatus;
  readonly detail: string;
  readonly signed: readonly string[];
  readonly missing: readonly string[];
  readonly invalid: readonly string[];
  readonly suspendedParties: readonly string[];
}

export interface AgreementView {
  readonly id: string;
  readonly at: string;
  readonly parties: readonly string[];
  /** The state of the version decisions use now. */
  readonly status: LifecycleStatus;
  readonly detail: string;
  readonly inForce: { readonly version: number; readonly hash: string } | null;
  /** Parties whose signature the latest version still lacks. */
  readonly awaiting: readonly string[];
  readonly versions: readonly VersionView[];
  readonly events: readonly Omit<AgreementEventRecord, "jws" | "id">[];
}

export interface PushResult {
  readonly node: string;
  readonly ok: boolean;
  /** What the partner answered or why it could not be reached. */
  readonly error?: string;
}

export interface AgreementBookDeps {
  readonly nodeId: string;
  readonly keys: NodeKeys;
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly exchange?: AgreementExchange | undefined;
  /** Jitter for the retry schedule of exchanges and consent pushes (src/app/retry.ts); none without it. */
  readonly random?: Random | undefined;
}

interface Held {
  readonly agreement: Agreement;
  check: SignatureCheck;
}

const key = (id: string, version: number) => `${id}@${String(version)}`;

export class AgreementBook {
  private readonly d: AgreementBookDeps;
  private held: Held[] = [];
  private events: LifecycleEvent[] = [];
  private eventRecords: AgreementEventRecord[] = [];
  private recorded = new Map<string, string>();
  private cache: { from: number; until: number; list: readonly GovernedAgreement[] } | undefined;
  private boundaries: number[] = [];
  private refreshing: Promise<void> = Promise.resolve();

  constructor(deps: AgreementBookDeps) {
    this.d = deps;
  }

  // ---------------------------------------------------------------- loading and governing

  /** (Re)load every held version, signature and event, and verify the signatures. */
  async load(): Promise<void> {
    const s = this.d.store;
    const [records, events, statuses, history] = await Promise.all([
      s.agreementState.versions(),
      s.agreementState.events(),
      s.agreementState.statuses(),
      this.keyHistory(),
    ]);
    const held: Held[] = [];
    for (const r of records) {
      const agreement = parseAgreement(r.source, `${r.id} v${String(r.version)}`);
      const sigs = await s.agreementState.signatures(r.id, r.version);
      held.push({ agreement, check: await verifyHeld(agreement, sigs, history) });
    }
    this.held = held;
    this.eventRecords = events;
    this.events = events.map((e) => ({
      kind: e.kind,
      agreement: e.agreement,
      at: e.at,
      by: e.by,
      ...(e.party === null ? {} : { party: e.party }),
      ...(e.reason === null ? {} : { reason: e.reason }),
    }));
    this.recorded = new Map(statuses.map((r) => [key(r.agreement, r.version), r.status]));
    const b = new Set<number>();
    for (const h of held) b.add(h.agreement.effectiveFromMs).add(h.agreement.sunsetMs);
    for (const e of this.events) {
      const t = Date.parse(e.at);
      if (!Number.isNaN(t)) b.add(t);
    }
    this.boundaries = [...b].sort((x, y) => x - y);
    this.cache = undefined;
  }

  /** Every held version, ordered by id then version. */
  versions(): readonly Agreement[] {
    return this.held.map((h) => h.agreement);
  }

  /** The highest held version of each agreement. */
  latest(): Agreement[] {
    const out = new Map<string, Agreement>();
    for (const h of this.held) out.set(h.agreement.id, h.agreement);
    return [...out.values()];
  }

  find(id: string, version: number): Agreement | undefined {
    return this.held.find((h) => h.agreement.id === id && h.agreement.version === version)
      ?.agreement;
  }

  /**
   * What `decide()` is given at `at`: per agreement, the version in force, else the one whose
   * state explains why none is. The same list (by identity) is returned for every `at` between
   * two lifecycle boundaries, so the engine's compiled form is reused.
   */
  governedAt(at: Date): readonly GovernedAgreement[] {
    const t = at.getTime();
    const c = this.cache;
    if (c !== undefined && t >= c.from && t < c.until) return c.list;
    let from = -Infinity;
    let until = Infinity;
    for (const b of this.boundaries) {
      if (b <= t) from = b;
      else {
        until = b;
        break;
      }
    }
    const list = pickPerAgreement(this.statesAt(at));
    this.cache = { from, until, list };
    return list;
  }

  /** The state of every held version at `at`. */
  statesAt(at: Date): GovernedAgreement[] {
    const t = at.getTime();
    return this.held.map((h) => {
      const later = this.held
        .filter(
          (o) =>
            o.agreement.id === h.agreement.id &&
            o.agreement.version > h.agreement.version &&
            o.check.missing.length === 0 &&
            t >= o.agreement.effectiveFromMs,
        )
        .sort((x, y) => y.agreement.version - x.agreement.version)[0];
      return {
        agreement: h.agreement,
        state: lifecycleState(h.agreement, h.check, this.events, at, later?.agreement),
      };
    });
  }

  /**
   * Record every version whose state at `at` differs from the one last recorded: the new state in
   * the store and one `agreement-transition` log entry, together. Serialised.
   */
  refresh(at: Date = this.d.clock.now()): Promise<void> {
    const run = this.refreshing.then(() => this.recordTransitions(at));
    this.refreshing = run.catch(() => undefined);
    return run;
  }

  private async recordTransitions(at: Date): Promise<void> {
    const changed: GovernedAgreement[] = [];
    for (const g of this.statesAt(at))
      if (this.recorded.get(key(g.agreement.id, g.agreement.version)) !== g.state.status)
        changed.push(g);
    if (changed.length === 0) return;
    const atIso = at.toISOString();
    await this.d.store.transaction(async (tx) => {
      for (const { agreement: a, state } of changed) {
        await tx.agreementState.setStatus({
          agreement: a.id,
          version: a.version,
          status: state.status,
          since: atIso,
        });
        await tx.ledger.append({
          kind: "agreement-transition",
          at: atIso,
          data: {
            agreement: a.id,
            version: a.version,
            hash: a.hash,
            from: this.recorded.get(key(a.id, a.version)) ?? null,
            to: state.status,
            signed: [...state.signatures.signed],
            missing: [...state.signatures.missing],
            suspendedParties: [...state.suspendedParties],
          },
        });
      }
    });
    for (const { agreement: a, state } of changed) {
      this.recorded.set(key(a.id, a.version), state.status);
      this.d.logger.info(
        { agreement: a.id, version: a.version, status: state.status },
        "agreement state changed",
      );
    }
  }

  // ---------------------------------------------------------------- views

  view(id: string, at: Date = this.d.clock.now()): AgreementView {
    const states = this.statesAt(at).filter((g) => g.agreement.id === id);
    const chosen = pickPerAgreement(states)[0];
    if (chosen === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `no agreement \`${id}\` is held by \`${this.d.nodeId}\``,
      );
    const latest = states[states.length - 1] ?? chosen;
    return {
      id,
      at: at.toISOString(),
      parties: latest.agreement.doc.parties.map((p) => p.node),
      status: chosen.state.status,
      detail: chosen.state.detail,
      inForce:
        chosen.state.status === "in-force"
          ? { version: chosen.agreement.version, hash: chosen.agreement.hash }
          : null,
      awaiting: latest.state.signatures.missing,
      versions: states.map(({ agreement: a, state }) => ({
        version: a.version,
        hash: a.hash,
        title: a.doc.title,
        effectiveFrom: a.doc.effective_from,
        sunset: a.doc.sunset,
        status: state.status,
        detail: state.detail,
        signed: state.signatures.signed,
        missing: state.signatures.missing,
        invalid: state.signatures.invalid,
        suspendedParties: state.suspendedParties,
      })),
      events: this.eventRecords
        .filter((e) => e.agreement === id)
        .map(({ jws: _j, id: _i, ...rest }) => rest),
    };
  }

  // ---------------------------------------------------------------- signing

  /**
   * Sign version `version` (default: the highest held) of `id` with this node's key, record it,
   * and exchange signatures with every other party this node knows.
   */
  async sign(
    id: string,
    version?: number,
  ): Promise<{ view: AgreementView; added: boolean; pushed: PushResult[] }> {
    const a = this.pick(id, version);
    const sig = await signAgreement(a, this.d.nodeId, this.d.keys.signing.privateKey);
    const at = this.nowIso();
    const added = await this.d.store.transaction(async (tx) => {
      const put = await tx.agreementState.putSignature({ ...sig, receivedAt: at });
      if (put === "inserted")
        await tx.ledger.append({
          kind: "agreement-signature",
          at,
          data: {
            agreement: a.id,
            version: a.version,
            hash: a.hash,
            node: this.d.nodeId,
            via: null,
          },
        });
      return put === "inserted";
    });
    await this.load();
    await this.refresh();
    const pushed = await this.sync(a.id, a.version);
    return { view: this.view(a.id), added, pushed };
  }

  /**
   * Exchange what this node holds for one version with every other party it knows. Each
   * exchange is owed durably first (migration 11): one that fails, or whose answer shows the
   * partner still lacks what this node signed or recorded, is retried by `retryExchanges()`.
   */
  async sync(id: string, version?: number): Promise<PushResult[]> {
    const a = this.pick(id, version);
    if (this.d.exchange === undefined) return [];
    const others = a.doc.parties.map((p) => p.node).filter((n) => n !== this.d.nodeId);
    const now = this.nowIso();
    for (const node of others)
      await this.d.store.agreementState.oweExchange({
        agreement: a.id,
        version: a.version,
        partner: node,
        at: now,
      });
    const results: PushResult[] = [];
    for (const node of others) results.push(await this.attemptExchange(a, node));
    // What a later partner answered may be news to an earlier one: one more round to those.
    const reached = results.filter((r) => r.ok).map((r) => r.node);
    if (reached.length > 1) for (const node of reached) await this.attemptExchange(a, node);
    return results;
  }

  /** The exchanges owed to partners for `id` (every version): pending, or done. */
  exchanges(id: string): Promise<AgreementExchangeRecord[]> {
    return this.d.store.agreementState.exchanges(id);
  }

  /**
   * Retry the exchanges owed whose next attempt is due (the node's delivery pass calls this).
   * Returns how many were attempted.
   */
  async retryExchanges(limit = 20): Promise<number> {
    const due = await this.d.store.agreementState.dueExchanges(this.nowIso(), limit);
    for (const x of due) {
      const a = this.find(x.agreement, x.version);
      if (a === undefined) {
        await this.d.store.agreementState.exchangeFailed(
          x.agreement,
          x.version,
          x.partner,
          "the version is no longer held here",
          this.nextAttempt(x.attempts),
        );
        continue;
      }
      await this.attemptExchange(a, x.partner, x.attempts);
    }
    return due.length;
  }

  /**
   * One exchange with `node` for version `a`. Done (logged `agreement-exchange`) when the
   * partner's answer verifies and holds every signature and event this node made for the
   * version; otherwise the failure is kept with the next attempt (backoff) and logged.
   */
  private async attemptExchange(a: Agreement, node: string, attempts = 0): Promise<PushResult> {
    const exchange = this.d.exchange;
    if (exchange === undefined) return { node, ok: false, error: "no exchange configured" };
    let error: string;
    try {
      const peer = await this.d.store.peers.get(node);
      if (peer === undefined) throw new Error("not a known partner of this node");
      // Page by page while either side has more: this node's pages, then the partner's while
      // they carry events. Each page is one signed message, verified and stored on its own.
      const mine = pagesOf((await this.d.store.agreementState.events(a.id)).length);
      const held = { signatures: new Set<string>(), events: new Set<string>() };
      let page = 0;
      let more: boolean;
      do {
        const answer = await exchange.exchange(peer, await this.message(a, node, page));
        const { message } = await this.accept(answer, { expectFrom: node, expect: a, page });
        for (const s of message.signatures) held.signatures.add(s.node);
        for (const e of message.events) held.events.add(e.jws);
        page++;
        more = page < mine || (page < (message.pages ?? 1) && message.events.length > 0);
        if (more && page >= MAX_PAGES)
          throw new Error(
            `the exchange needs more than ${String(MAX_PAGES)} pages of events; not followed further`,
          );
      } while (more);
      const lacking = await this.lacking(a, held);
      if (lacking === undefined) {
        await this.exchangeDone(a, node);
        return { node, ok: true };
      }
      error = `the partner does not hold ${lacking} yet`;
    } catch (e) {
      error = e instanceof Error ? e.message : "failed";
    }
    const next = this.nextAttempt(attempts);
    await this.d.store.agreementState.exchangeFailed(a.id, a.version, node, error, next);
    this.d.logger.warn(
      { agreement: a.id, version: a.version, partner: node, attempts: attempts + 1, next },
      "agreement exchange failed; it will be retried",
    );
    return { node, ok: false, error };
  }

  /**
   * What of this node's own signature and events on `a` the partner lacks, judged by what it
   * sent (signing nodes, event JWSs).
   */
  private async lacking(
    a: Agreement,
    theirs: { signatures: ReadonlySet<string>; events: ReadonlySet<string> },
  ): Promise<string | undefined> {
    const self = this.d.nodeId;
    const mine = await this.d.store.agreementState.signatures(a.id, a.version);
    if (mine.some((s) => s.node === self) && !theirs.signatures.has(self))
      return `the signature of \`${self}\``;
    const events = await this.d.store.agreementState.events(a.id);
    const missing = events.filter((e) => e.recordedBy === self && !theirs.events.has(e.jws)).length;
    return missing === 0 ? undefined : `${String(missing)} event(s) recorded by \`${self}\``;
  }

  private async exchangeDone(a: Agreement, partner: string): Promise<void> {
    const at = this.nowIso();
    await this.d.store.transaction(async (tx) => {
      if (!(await tx.agreementState.exchangeDone(a.id, a.version, partner, at))) return;
      await tx.ledger.append({
        kind: "agreement-exchange",
        at,
        data: { agreement: a.id, version: a.version, hash: a.hash, partner },
      });
    });
  }

  /** The next attempt after `attempts` failed ones: the shared schedule (src/app/retry.ts). */
  private nextAttempt(attempts: number): string {
    return nextAttemptAt(this.d.clock.now(), attempts, this.d.random?.bytes(1)[0] ?? 0);
  }

  /** The federation endpoint: verify and record a partner's message, answer with what is held here. */
  async receive(raw: unknown): Promise<ExchangeMessage> {
    const { agreement, message } = await this.accept(raw);
    // A partner that writes with everything this node owes it needs no retry from here (judged
    // on this page alone: with several pages, this node's own retry settles it).
    const theirs = {
      signatures: new Set(message.signatures.map((s) => s.node)),
      events: new Set(message.events.map((e) => e.jws)),
    };
    if ((await this.lacking(agreement, theirs)) === undefined)
      await this.exchangeDone(agreement, message.from);
    return this.message(agreement, message.from, message.page ?? 0);
  }

  // ---------------------------------------------------------------- lifecycle events

  /**
   * Record a lifecycle event on `id` now: by this node (a party), or by an oversight body named
   * in the agreement on whose behalf this node records it. Then tell the other parties.
   */
  async recordEvent(
    id: string,
    ev: { kind: EventKind; by?: string; party?: string; reason?: string },
  ): Promise<{ view: AgreementView; pushed: PushResult[] }> {
    const a = this.pick(id);
    const by = ev.by ?? this.d.nodeId;
    const oversight = a.doc.oversight.map((o) => o.name);
    if (by !== this.d.nodeId && !oversight.includes(by))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`by\` must be this node or an oversight body of \`${id}\` (${oversight.map((o) => `\`${o}\``).join(", ") || "none named"})`,
      );
    const partyKinds = ev.kind === "suspend-party" || ev.kind === "resume-party";
    if (partyKinds !== (ev.party !== undefined))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        partyKinds ? `\`${ev.kind}\` needs a \`party\`` : `\`${ev.kind}\` takes no \`party\``,
      );
    if (ev.party !== undefined && !a.doc.parties.some((p) => p.node === ev.party))
      throw new AccordError("ERR_BAD_REQUEST", `\`${ev.party}\` is not a party to \`${id}\``);
    if (ev.reason !== undefined && ev.reason.length > 500)
      throw new AccordError("ERR_BAD_REQUEST", "`reason` is longer than 500 characters");
    const body = eventBody(id, {
      kind: ev.kind,
      at: this.nowIso(),
      by,
      party: ev.party ?? null,
      reason: ev.reason ?? null,
      recorded_by: this.d.nodeId,
    });
    const jws = await signJson(body, this.d.keys.signing.privateKey);
    await this.storeEvents(id, [{ ...fromBody(body), jws }], null);
    await this.load();
    await this.refresh();
    const pushed = await this.sync(id);
    return { view: this.view(id), pushed };
  }

  // ---------------------------------------------------------------- consents for onward hops

  /**
   * As the originator: sign a consent to one onward hop (`holder` may pass `object` to
   * `recipient` under `agreement` for `purpose` until `expires`), keep it, and push it to the
   * holder (a signed peer request; the holder verifies and keeps it).
   *
   * `object` is this node's own id for the object (or "*"). Minimization may have re-issued the
   * id the holder received it under (per agreement, keyed by this node's secret): the consent
   * names the id the holder holds, resolved from the copies this node sent to the holder, so it
   * is bound to the original object without telling the holder the original id (which would
   * link the re-issued ids). The log entry keeps both. An id this node never sent to the holder
   * is taken as the holder's id, as given.
   */
  async grantConsent(req: {
    object: string;
    holder: string;
    recipient: string;
    agreement: string;
    purpose: string;
    expires: string;
  }): Promise<{ consent: Consent; original: string; pushed: PushResult }> {
    const a = this.pick(req.agreement);
    const parties = a.doc.parties.map((p) => p.node);
    for (const [what, node] of [
      ["holder", req.holder],
      ["recipient", req.recipient],
    ] as const)
      if (!parties.includes(node))
        throw new AccordError(
          "ERR_BAD_REQUEST",
          `the ${what} \`${node}\` is not a party to \`${a.id}\``,
        );
    if (
      req.holder === this.d.nodeId ||
      req.recipient === this.d.nodeId ||
      req.holder === req.recipient
    )
      throw new AccordError("ERR_BAD_REQUEST", "a consent is for a hop between two other parties");
    if (!RFC3339.test(req.expires) || !(Date.parse(req.expires) > this.d.clock.now().getTime()))
      throw new AccordError("ERR_BAD_REQUEST", "`expires` must be an RFC 3339 time in the future");
    const heldAs = await this.heldAs(req.object, req.holder);
    const consent = await signConsent(
      { type: "accord-consent/1", originator: this.d.nodeId, ...req, object: heldAs },
      this.d.keys.signing.privateKey,
    );
    // The consent and the push owed to its holder are written together: a push that fails now
    // is retried by the delivery pass (`retryConsentPushes`) until the holder acknowledges it.
    const { id } = await this.keepConsent(consent, { original: req.object, push: true });
    return { consent, original: req.object, pushed: await this.attemptPush(consent, id, 0) };
  }

  /** The id `holder` holds this node's object `id` under: the latest copy sent to it. */
  private async heldAs(id: string, holder: string): Promise<string> {
    if (id === "*") return id;
    const copies = (await this.d.store.recalls.copiesOf(id)).filter((c) => c.recipient === holder);
    return copies[copies.length - 1]?.sentAs ?? id;
  }

  /**
   * Retry the consent pushes whose next attempt is due (the node's delivery pass calls this); a
   * push whose consent has expired ends (`expired`, logged) without being sent. Returns how many
   * were due.
   */
  async retryConsentPushes(limit = 20): Promise<number> {
    const due = await this.d.store.agreementState.dueConsentPushes(this.nowIso(), limit);
    for (const p of due) {
      const c = consentOf(p);
      if (!(Date.parse(c.expires) > this.d.clock.now().getTime())) {
        await this.endPush(c, p.consent.id, "expired", p.attempts);
        continue;
      }
      await this.attemptPush(c, p.consent.id, p.attempts);
    }
    return due.length;
  }

  /** The consents this node pushed to their holders, oldest first: pending, done or expired. */
  consentPushes(): Promise<ConsentPushRecord[]> {
    return this.d.store.agreementState.consentPushes();
  }

  /**
   * Hand a consent to its holder over a signed peer request. Done (logged `consent-push`) when
   * the holder acknowledges it: a 2xx answer naming this consent. Otherwise the failure is kept
   * with the next attempt (the shared schedule, src/app/retry.ts) and logged; never thrown.
   */
  private async attemptPush(c: Consent, id: string, attempts: number): Promise<PushResult> {
    const node = c.holder;
    let error: string;
    try {
      const exchange = this.d.exchange;
      if (exchange === undefined) throw new Error("no exchange configured");
      const peer = await this.d.store.peers.get(node);
      if (peer === undefined) throw new Error("not a known partner of this node");
      const answer = (await exchange.pushConsent(peer, c)) as { consent?: unknown } | null;
      if (answer?.consent !== id)
        throw new Error("the holder's answer does not acknowledge this consent");
      await this.endPush(c, id, "done", attempts + 1);
      return { node, ok: true };
    } catch (e) {
      error = e instanceof Error ? e.message.slice(0, 500) : "failed";
    }
    const next = this.nextAttempt(attempts);
    await this.d.store.agreementState.consentPushFailed(id, error, next);
    this.d.logger.warn(
      { agreement: c.agreement, holder: node, attempts: attempts + 1, next },
      "consent not delivered to its holder; it will be retried",
    );
    return { node, ok: false, error };
  }

  private async endPush(
    c: Consent,
    id: string,
    status: "done" | "expired",
    attempts: number,
  ): Promise<void> {
    const at = this.nowIso();
    await this.d.store.transaction(async (tx) => {
      if (!(await tx.agreementState.endConsentPush(id, status, at))) return;
      await tx.ledger.append({
        kind: "consent-push",
        at,
        data: {
          consent: id,
          holder: c.holder,
          agreement: c.agreement,
          outcome: status === "done" ? "acknowledged" : "expired",
          attempts,
        },
      });
    });
    if (status === "expired")
      this.d.logger.warn(
        { agreement: c.agreement, holder: c.holder, attempts },
        "consent expired before its holder acknowledged it; no longer pushed",
      );
  }

  /**
   * As the holder, from the originator itself (the signed request's signer): verify and keep a
   * consent it pushed. The consent must be the signer's own.
   */
  async receiveConsent(
    signer: string,
    raw: unknown,
  ): Promise<{ consent: Consent; id: string; added: boolean }> {
    const c = parseConsent(raw);
    if (c.originator !== signer)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `the consent is by \`${c.originator}\`, but the request is signed by partner \`${signer}\``,
      );
    return this.addConsent(c);
  }

  /** As the holder: verify a consent under its originator's known key and keep it. */
  async addConsent(raw: unknown): Promise<{ consent: Consent; id: string; added: boolean }> {
    const c = parseConsent(raw);
    if (c.holder !== this.d.nodeId)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the consent is for holder \`${c.holder}\`, not this node`,
      );
    const peer = await this.d.store.peers.get(c.originator);
    if (peer === undefined)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `\`${c.originator}\` is not a known partner of \`${this.d.nodeId}\``,
      );
    if (!(await this.verifyConsentOf(c, peer, this.d.clock.now())))
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the consent is not signed by a key known for its originator \`${c.originator}\` (its current key, or a previous one inside its overlap); nothing was recorded`,
      );
    if (!this.held.some((h) => h.agreement.id === c.agreement))
      throw new AccordError(
        "ERR_NOT_FOUND",
        `no agreement \`${c.agreement}\` is held by \`${this.d.nodeId}\``,
      );
    const kept = await this.keepConsent(c);
    return { consent: c, id: kept.id, added: kept.added };
  }

  /**
   * The consents held here that let this node pass `objectId` on at `at`. Each was verified when
   * stored; it is still offered only while the key that signed it is its originator's pinned key
   * or a previous one inside its overlap and never revoked: the onward recipient checks the same
   * (`hopConsented`), so a consent whose key was retired would only have the object refused there.
   */
  async consentsFor(objectId: string, at: Date): Promise<Consent[]> {
    const rows = await this.d.store.agreementState.consentsFor(this.d.nodeId, objectId);
    const usable: Consent[] = [];
    const keyKnown = new Map<string, boolean>();
    for (const c of rows.map(consentOfRow)) {
      const kid = signatureKeyId(c.jws);
      const memo = `${c.originator} ${kid ?? ""}`;
      let known = keyKnown.get(memo);
      if (known === undefined) {
        const peer = await this.d.store.peers.get(c.originator);
        known =
          peer !== undefined &&
          (await partnerSigningKey(this.d.store, peer, kid, at)) !== undefined;
        keyKnown.set(memo, known);
      }
      if (known) usable.push(c);
    }
    return usable;
  }

  /**
   * As the recipient of an onward hop: true iff `consents` (from the object's provenance,
   * attacker-controlled) hold one by `originator`, verified under its known key, for exactly this
   * hop (`holder` = the sender, `recipient` = this node), agreement and purpose, not expired.
   */
  async hopConsented(
    consents: readonly unknown[] | undefined,
    hop: { originator: string; holder: string; agreement: string; purpose: string; at: Date },
  ): Promise<boolean> {
    if (consents === undefined || consents.length === 0) return false;
    const peer = await this.d.store.peers.get(hop.originator);
    if (peer === undefined) return false;
    for (const raw of consents.slice(0, 16)) {
      let c: Consent;
      try {
        c = parseConsent(raw);
      } catch {
        continue;
      }
      if (
        c.originator === hop.originator &&
        c.holder === hop.holder &&
        c.recipient === this.d.nodeId &&
        c.agreement === hop.agreement &&
        c.purpose === hop.purpose &&
        Date.parse(c.expires) > hop.at.getTime() &&
        (await this.verifyConsentOf(c, peer, hop.at))
      )
        return true;
    }
    return false;
  }

  /**
   * Whether `c` is signed by its originator `peer`: under the key its `kid` names when that is
   * the pinned key or a previous key still inside its overlap and never revoked (as for sealed
   * envelopes, app/key-rotation.ts `partnerSigningKey`). A consent signed before a rotation so
   * stays usable through the overlap, and not after it.
   */
  private async verifyConsentOf(c: Consent, peer: Peer, at: Date): Promise<boolean> {
    const key = await partnerSigningKey(this.d.store, peer, signatureKeyId(c.jws), at);
    return key !== undefined && (await verifyConsentSafe(c, key));
  }

  /**
   * Keep a verified consent and log it (once); with `push`, as its originator, owe its holder the
   * push in the same transaction. Returns the consent's id and whether it was new here.
   */
  private async keepConsent(
    c: Consent,
    opts: { original?: string; push?: boolean } = {},
  ): Promise<{ id: string; added: boolean }> {
    const id = sha256Hex(canonicalize(c));
    const at = this.nowIso();
    const original = opts.original;
    const added = await this.d.store.transaction(async (tx) => {
      const put = await tx.agreementState.putConsent({
        id,
        originator: c.originator,
        object: c.object,
        holder: c.holder,
        recipient: c.recipient,
        agreement: c.agreement,
        purpose: c.purpose,
        expires: c.expires,
        jws: c.jws,
        storedAt: at,
      });
      if (opts.push === true) await tx.agreementState.oweConsentPush(id, at);
      if (put !== "inserted") return false;
      await tx.ledger.append({
        kind: "consent",
        at,
        data: {
          consent: id,
          originator: c.originator,
          holder: c.holder,
          recipient: c.recipient,
          agreement: c.agreement,
          purpose: c.purpose,
          object: c.object,
          ...(original === undefined || original === c.object ? {} : { original }),
          expires: c.expires,
        },
      });
      return true;
    });
    return { id, added };
  }

  // ---------------------------------------------------------------- internals

  private pick(id: string, version?: number): Agreement {
    const versions = this.held.filter((h) => h.agreement.id === id);
    if (versions.length === 0)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `no agreement \`${id}\` is held by \`${this.d.nodeId}\``,
      );
    const chosen =
      version === undefined
        ? versions[versions.length - 1]
        : versions.find((h) => h.agreement.version === version);
    if (chosen === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `version ${String(version)} of \`${id}\` is not held by \`${this.d.nodeId}\``,
      );
    return chosen.agreement;
  }

  private keyHistory(): Promise<Map<string, KnownSigningKey[]>> {
    return signingKeyHistory(this.d.store, {
      nodeId: this.d.nodeId,
      current: this.d.keys.signing.publicJwk,
    });
  }

  private async knownKeys(): Promise<Map<string, PublicJwk>> {
    const keys = new Map<string, PublicJwk>([[this.d.nodeId, this.d.keys.signing.publicJwk]]);
    for (const p of await this.d.store.peers.list()) {
      try {
        keys.set(p.nodeId, parsePublicJwk(p.signingKey, "Ed25519"));
      } catch {
        /* a malformed stored key verifies nothing */
      }
    }
    return keys;
  }

  /** This node's signed message to `to` on `a`, with page `page` of its events. */
  private async message(a: Agreement, to: string, page = 0): Promise<ExchangeMessage> {
    const sigs = await this.d.store.agreementState.signatures(a.id, a.version);
    const all = await this.d.store.agreementState.events(a.id);
    const pages = pagesOf(all.length);
    const events = all.slice(page * MAX_ITEMS, (page + 1) * MAX_ITEMS);
    const body = {
      type: EXCHANGE_TYPE,
      from: this.d.nodeId,
      to,
      at: this.nowIso(),
      agreement: a.id,
      version: a.version,
      hash: a.hash,
      signatures: sigs.map((s) => ({ node: s.node, jws: s.jws })),
      events: events.map((e): WireEvent => ({
        kind: e.kind,
        at: e.at,
        by: e.by,
        party: e.party,
        reason: e.reason,
        recorded_by: e.recordedBy,
        jws: e.jws,
      })),
      ...(pages > 1 || page > 0 ? { page, pages } : {}),
    } as const;
    return { ...body, jws: await signJson(body, this.d.keys.signing.privateKey) };
  }

  /**
   * Verify an exchange message and record what is new in it. Refuses the whole message (writing
   * nothing) when its sender, its signature, the version it names, or any signature or event in
   * it does not check out.
   */
  private async accept(
    raw: unknown,
    opts: { expectFrom?: string; expect?: Agreement; page?: number } = {},
  ): Promise<{ agreement: Agreement; added: number; message: ExchangeMessage }> {
    const m = parseMessage(raw);
    if (opts.page !== undefined && (m.page ?? 0) !== opts.page)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the answer carries page ${String(m.page ?? 0)} of the events, not page ${String(opts.page)}`,
      );
    if (m.to !== this.d.nodeId)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the message is addressed to \`${m.to}\`, not to this node`,
      );
    if (opts.expectFrom !== undefined && m.from !== opts.expectFrom)
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the answer comes from \`${m.from}\`, not \`${opts.expectFrom}\``,
      );
    const peer = await this.d.store.peers.get(m.from);
    if (peer === undefined)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `\`${m.from}\` is not a known partner of \`${this.d.nodeId}\``,
      );
    const { jws, ...body } = m;
    if (!(await safeVerify(jws, body, peer.signingKey)))
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the exchange message is not signed by \`${m.from}\`'s key`,
      );
    const skew = Math.abs(Date.parse(m.at) - this.d.clock.now().getTime());
    if (!(skew <= EXCHANGE_MAX_SKEW_MS))
      throw new AccordError(
        "ERR_REPLAY",
        `the exchange message is dated ${m.at}, too far from this node's clock`,
      );
    const a = this.find(m.agreement, m.version);
    if (a === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `\`${m.agreement}\` v${String(m.version)} is not held by \`${this.d.nodeId}\`; add that version first`,
      );
    // (`expect` by content: each page of an exchange reloads the held versions.)
    const e = opts.expect;
    if (
      a.hash !== m.hash ||
      (e !== undefined && (e.id !== a.id || e.version !== a.version || e.hash !== a.hash))
    )
      throw new AccordError(
        "ERR_AGREEMENT_INVALID",
        `\`${m.agreement}\` v${String(m.version)} has hash ${a.hash.slice(0, 12)}… here, not ${m.hash.slice(0, 12)}…: the parties hold different texts`,
      );
    const parties = new Set(a.doc.parties.map((p) => p.node));
    if (!parties.has(m.from))
      throw new AccordError("ERR_UNKNOWN_PARTNER", `\`${m.from}\` is not a party to \`${a.id}\``);

    // Signatures: each must verify under the key known here for its party (a party whose key is
    // not known here is skipped: it cannot be checked, and is not trusted).
    const keys = await this.knownKeys();
    // Any key the party has had that is not revoked: a signature made before a rotation counts.
    const usable = usableKeys(await this.keyHistory(), this.nowIso());
    const offered: AgreementSignature[] = [];
    for (const s of m.signatures) {
      if (!parties.has(s.node))
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          `\`${s.node}\` is not a party to \`${a.id}\` v${String(a.version)}; its signature is refused`,
        );
      if (!keys.has(s.node)) continue;
      const sig = { agreement: a.id, version: a.version, hash: a.hash, node: s.node, jws: s.jws };
      const check = await verifySignatures(a, [sig], usable);
      if (!check.signed.includes(s.node))
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          `the signature of \`${s.node}\` on \`${a.id}\` v${String(a.version)} does not verify under the key known for \`${s.node}\`; nothing was recorded`,
          {
            details: [
              { path: `$.signatures[node=${s.node}]`, message: "forged or made with another key" },
            ],
          },
        );
      offered.push(sig);
    }

    // Events: each must be signed by the party (or oversight node) that recorded it.
    const recorders = new Set([
      ...parties,
      ...a.doc.oversight.flatMap((o) => (o.node === undefined ? [] : [o.node])),
    ]);
    const events: (WireEvent & { id: string })[] = [];
    for (const e of m.events) {
      if (!recorders.has(e.recorded_by))
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          `an event recorded by \`${e.recorded_by}\`, who is neither a party nor an oversight node, is refused`,
        );
      const k = keys.get(e.recorded_by);
      if (k === undefined) continue;
      const body = eventBody(a.id, e);
      if (!(await safeVerify(e.jws, body, k)))
        throw new AccordError(
          "ERR_SIGNATURE_INVALID",
          `an event on \`${a.id}\` said to be recorded by \`${e.recorded_by}\` is not signed by its key; nothing was recorded`,
        );
      events.push({ ...e, id: sha256Hex(canonicalize(body)) });
    }

    const at = this.nowIso();
    const added = await this.d.store.transaction(async (tx) => {
      let n = 0;
      for (const s of offered) {
        if ((await tx.agreementState.putSignature({ ...s, receivedAt: at })) !== "inserted")
          continue;
        n++;
        await tx.ledger.append({
          kind: "agreement-signature",
          at,
          data: { agreement: a.id, version: a.version, hash: a.hash, node: s.node, via: m.from },
        });
      }
      return n;
    });
    const newEvents = await this.storeEvents(
      a.id,
      events.map((e) => ({ ...fromWire(e), jws: e.jws })),
      m.from,
    );
    if (added + newEvents > 0) {
      await this.load();
      await this.refresh();
    }
    return { agreement: a, added: added + newEvents, message: m };
  }

  private async storeEvents(
    agreement: string,
    events: readonly (Omit<AgreementEventRecord, "id" | "agreement" | "recordedAt" | "jws"> & {
      jws: string;
    })[],
    via: string | null,
  ): Promise<number> {
    if (events.length === 0) return 0;
    const at = this.nowIso();
    return this.d.store.transaction(async (tx) => {
      let n = 0;
      for (const e of events) {
        const body = eventBody(agreement, {
          kind: e.kind,
          at: e.at,
          by: e.by,
          party: e.party,
          reason: e.reason,
          recorded_by: e.recordedBy,
        });
        const id = sha256Hex(canonicalize(body));
        const put = await tx.agreementState.putEvent({ ...e, id, agreement, recordedAt: at });
        if (put !== "inserted") continue;
        n++;
        await tx.ledger.append({
          kind: "agreement-event",
          at,
          data: {
            agreement,
            event: id,
            kind: e.kind,
            effective: e.at,
            by: e.by,
            party: e.party,
            recordedBy: e.recordedBy,
            via,
          },
        });
      }
      return n;
    });
  }

  private nowIso(): string {
    return this.d.clock.now().toISOString();
  }
}

/** Per agreement id, the one version decisions use (see `governedAt`). Keeps id order. */
function pickPerAgreement(states: readonly GovernedAgreement[]): GovernedAgreement[] {
  const byId = new Map<string, GovernedAgreement[]>();
  for (const g of states) {
    const list = byId.get(g.agreement.id);
    if (list === undefined) byId.set(g.agreement.id, [g]);
    else list.push(g);
  }
  const out: GovernedAgreement[] = [];
  for (const list of byId.values()) {
    const inForce = list.find((g) => g.state.status === "in-force");
    if (inForce !== undefined) {
      out.push(inForce);
      continue;
    }
    // Fully signed versions explain more (suspended, expired, not yet effective) than unsigned
    // ones; among them the latest whose date has come, else the earliest still to come.
    const rank = (s: AgreementState["status"]): number =>
      s === "suspended" || s === "terminated" || s === "expired"
        ? 3
        : s === "not-yet-effective"
          ? 2
          : s === "superseded"
            ? 0
            : 1;
    let best: GovernedAgreement | undefined;
    for (const g of list) {
      const r = rank(g.state.status);
      const rb = best === undefined ? -1 : rank(best.state.status);
      if (
        best === undefined ||
        r > rb ||
        (r === rb && g.agreement.version > best.agreement.version)
      )
        best = g;
    }
    if (best !== undefined) out.push(best);
  }
  return out;
}

/**
 * Each held signature checked under the keys its party had, unrevoked, when it was received here
 * (spec/agreement.md, "Keys"): a rotation leaves earlier signatures valid; a revocation voids
 * those received after it, never those held before.
 */
async function verifyHeld(
  a: Agreement,
  sigs: readonly AgreementSignatureRecord[],
  history: ReadonlyMap<string, readonly KnownSigningKey[]>,
): Promise<SignatureCheck> {
  const signed = new Set<string>();
  for (const s of sigs) {
    const c = await verifySignatures(a, toCore([s]), usableKeys(history, s.receivedAt));
    for (const n of c.signed) signed.add(n);
  }
  const offered = new Set(sigs.map((s) => s.node));
  const parties = a.doc.parties.map((p) => p.node);
  return {
    signed: parties.filter((n) => signed.has(n)),
    missing: parties.filter((n) => !signed.has(n)),
    invalid: parties.filter((n) => offered.has(n) && !signed.has(n)),
  };
}

/** Per node, the keys not revoked at `at`. */
function usableKeys(
  history: ReadonlyMap<string, readonly KnownSigningKey[]>,
  at: string,
): Map<string, PublicJwk[]> {
  const t = Date.parse(at);
  const out = new Map<string, PublicJwk[]>();
  for (const [node, keys] of history)
    out.set(
      node,
      keys
        .filter((k) => k.revokedAt === undefined || Date.parse(k.revokedAt) > t)
        .map((k) => k.jwk),
    );
  return out;
}

function toCore(sigs: readonly AgreementSignatureRecord[]): AgreementSignature[] {
  return sigs.map((s) => ({
    agreement: s.agreement,
    version: s.version,
    hash: s.hash,
    node: s.node,
    jws: s.jws,
  }));
}

function eventBody(agreement: string, e: Omit<WireEvent, "jws">): Record<string, unknown> {
  return {
    type: EVENT_TYPE,
    agreement,
    kind: e.kind,
    at: e.at,
    by: e.by,
    party: e.party,
    reason: e.reason,
    recorded_by: e.recorded_by,
  };
}

function fromBody(
  b: Record<string, unknown>,
): Omit<AgreementEventRecord, "id" | "agreement" | "recordedAt" | "jws"> {
  return fromWire(b as unknown as WireEvent);
}

function fromWire(
  e: Omit<WireEvent, "jws">,
): Omit<AgreementEventRecord, "id" | "agreement" | "recordedAt" | "jws"> {
  return {
    kind: e.kind,
    at: e.at,
    by: e.by,
    party: e.party,
    reason: e.reason,
    recordedBy: e.recorded_by,
  };
}

function consentOf(p: ConsentPushRecord): Consent {
  return consentOfRow(p.consent);
}

/** The signed consent object a stored consent row holds. */
function consentOfRow(r: ConsentPushRecord["consent"]): Consent {
  return {
    type: "accord-consent/1",
    originator: r.originator,
    object: r.object,
    holder: r.holder,
    recipient: r.recipient,
    agreement: r.agreement,
    purpose: r.purpose,
    expires: r.expires,
    jws: r.jws,
  };
}

async function verifyConsentSafe(c: Consent, jwk: unknown): Promise<boolean> {
  try {
    return await verifyConsent(c, parsePublicJwk(jwk, "Ed25519"));
  } catch {
    return false;
  }
}

/** Shape-check a consent object (attacker-controlled). */
export function parseConsent(raw: unknown): Consent {
  const bad = (what: string) =>
    new AccordError("ERR_BAD_REQUEST", `the consent is invalid: ${what}`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("not a JSON object");
  const r = raw as Record<string, unknown>;
  const keys = [
    "type",
    "originator",
    "object",
    "holder",
    "recipient",
    "agreement",
    "purpose",
    "expires",
    "jws",
  ];
  for (const k of Object.keys(r)) if (!keys.includes(k)) throw bad(`unknown member \`${k}\``);
  if (r.type !== "accord-consent/1") throw bad("`type` must be `accord-consent/1`");
  for (const f of ["originator", "holder", "recipient"] as const)
    if (typeof r[f] !== "string" || !NODE_ID.test(r[f])) throw bad(`\`${f}\` must be a node id`);
  if (typeof r.agreement !== "string" || !SLUG.test(r.agreement))
    throw bad("`agreement` must be an agreement id");
  if (typeof r.object !== "string" || r.object.length === 0 || r.object.length > 300)
    throw bad("`object` must be an object id or `*`");
  if (typeof r.purpose !== "string" || r.purpose.length === 0 || r.purpose.length > 64)
    throw bad("`purpose` must be a purpose");
  if (typeof r.expires !== "string" || !RFC3339.test(r.expires))
    throw bad("`expires` must be an RFC 3339 time");
  if (typeof r.jws !== "string" || r.jws.length > 4096) throw bad("`jws` must be a detached JWS");
  return {
    type: "accord-consent/1",
    originator: r.originator as string,
    object: r.object,
    holder: r.holder as string,
    recipient: r.recipient as string,
    agreement: r.agreement,
    purpose: r.purpose,
    expires: r.expires,
    jws: r.jws,
  };
}

async function safeVerify(jws: string, value: unknown, jwk: unknown): Promise<boolean> {
  try {
    return await verifyJson(jws, value, parsePublicJwk(jwk, "Ed25519"));
  } catch {
    return false;
  }
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/;

/** Shape-check an exchange message from the network (attacker-controlled). */
export function parseMessage(raw: unknown): ExchangeMessage {
  const bad = (what: string) =>
    new AccordError("ERR_BAD_REQUEST", `the agreement exchange message is invalid: ${what}`);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw bad("not a JSON object");
  const r = raw as Record<string, unknown>;
  const allowed = [
    "type",
    "from",
    "to",
    "at",
    "agreement",
    "version",
    "hash",
    "signatures",
    "events",
    "page",
    "pages",
    "jws",
  ];
  for (const k of Object.keys(r)) if (!allowed.includes(k)) throw bad(`unknown member \`${k}\``);
  const count = (v: unknown, min: number) =>
    typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= MAX_PAGES;
  if (r.page !== undefined && !count(r.page, 0))
    throw bad(`\`page\` must be an integer from 0 to ${String(MAX_PAGES)}`);
  if (r.pages !== undefined && !count(r.pages, 1))
    throw bad(`\`pages\` must be an integer from 1 to ${String(MAX_PAGES)}`);
  if (r.type !== EXCHANGE_TYPE) throw bad(`\`type\` must be \`${EXCHANGE_TYPE}\``);
  for (const f of ["from", "to"] as const)
    if (typeof r[f] !== "string" || !NODE_ID.test(r[f])) throw bad(`\`${f}\` must be a node id`);
  if (typeof r.at !== "string" || !RFC3339.test(r.at) || Number.isNaN(Date.parse(r.at)))
    throw bad("`at` must be an RFC 3339 timestamp");
  if (typeof r.agreement !== "string" || !SLUG.test(r.agreement))
    throw bad("`agreement` must be an agreement id");
  if (typeof r.version !== "number" || !Number.isSafeInteger(r.version) || r.version < 1)
    throw bad("`version` must be a positive integer");
  if (typeof r.hash !== "string" || !/^[0-9a-f]{64}$/.test(r.hash))
    throw bad("`hash` must be 64 lowercase hex digits");
  if (typeof r.jws !== "string" || r.jws.length > 4096) throw bad("`jws` must be a detached JWS");
  if (!Array.isArray(r.signatures) || r.signatures.length > MAX_ITEMS)
    throw bad(`\`signatures\` must be a list of at most ${String(MAX_ITEMS)}`);
  if (!Array.isArray(r.events) || r.events.length > MAX_ITEMS)
    throw bad(`\`events\` must be a list of at most ${String(MAX_ITEMS)}`);
  const signatures = (r.signatures as unknown[]).map((s, i): WireSignature => {
    const o = s as Record<string, unknown> | null;
    if (
      o === null ||
      typeof o !== "object" ||
      typeof o.node !== "string" ||
      !NODE_ID.test(o.node) ||
      typeof o.jws !== "string" ||
      o.jws.length > 4096 ||
      Object.keys(o).length !== 2
    )
      throw bad(`\`signatures[${String(i)}]\` must be {node, jws}`);
    return { node: o.node, jws: o.jws };
  });
  const events = (r.events as unknown[]).map((e, i): WireEvent => {
    const o = e as Record<string, unknown> | null;
    const str = (v: unknown, max: number) => typeof v === "string" && v.length <= max;
    const strOrNull = (v: unknown, max: number) => v === null || str(v, max);
    if (
      o === null ||
      typeof o !== "object" ||
      !(EVENT_KINDS as readonly unknown[]).includes(o.kind) ||
      !str(o.at, 64) ||
      !RFC3339.test(o.at as string) ||
      Number.isNaN(Date.parse(o.at as string)) ||
      !str(o.by, 200) ||
      !strOrNull(o.party, 64) ||
      !strOrNull(o.reason, 500) ||
      !str(o.recorded_by, 64) ||
      !NODE_ID.test(o.recorded_by as string) ||
      !str(o.jws, 4096) ||
      Object.keys(o).length !== 7
    )
      throw bad(`\`events[${String(i)}]\` must be {kind, at, by, party, reason, recorded_by, jws}`);
    return {
      kind: o.kind as EventKind,
      at: o.at as string,
      by: o.by as string,
      party: o.party as string | null,
      reason: o.reason as string | null,
      recorded_by: o.recorded_by as string,
      jws: o.jws as string,
    };
  });
  return {
    type: EXCHANGE_TYPE,
    from: r.from as string,
    to: r.to as string,
    at: r.at,
    agreement: r.agreement,
    version: r.version,
    hash: r.hash,
    signatures,
    events,
    ...(r.page === undefined ? {} : { page: r.page as number }),
    ...(r.pages === undefined ? {} : { pages: r.pages as number }),
    jws: r.jws,
  };
}

/** How many pages of events `n` events make (at least one, which may be empty). */
function pagesOf(n: number): number {
  return Math.max(1, Math.ceil(n / MAX_ITEMS));
}
