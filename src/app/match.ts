/**
 * Private hit/no-hit matching between nodes (spec/match.md, VISION.md C9): the use cases on both
 * sides of the protocol.
 *
 *   responder: publishFilter  — a signed Golomb-compressed set of its POPRF outputs, per
 *                               agreement and key epoch, over the identifiers it originated of
 *                               the kinds the agreement lets partners ask about
 *              evaluate       — decide(query) -> budget (day and burst, atomic) -> log -> POPRF
 *                               BlindEvaluate with one batched proof
 *              psiRespond     — the same gate for a list-against-list DH-PSI session
 *              receiveRequest / approve / refuse — the follow-up request after a hit; approval
 *                               releases through the share path with action `release`
 *   requester: query          — normalise -> blind -> evaluate -> verify proof + finalize ->
 *                               check the filter locally: one bit per identifier
 *              psi, fileRequest, listRequests, getRequest, receiveDecision
 *
 * Keys: one secret per node (`matchSecret`, 32 bytes, held only here, never logged); the POPRF key
 * of an agreement is `DeriveKeyPair(HKDF-SHA256(secret, "accord-match-v1", "skS|" || agreement),
 * "accord-match-key-v1")`; the key epoch enters as POPRF public info, so every epoch has its own
 * effective key. Everything a partner sends is attacker-controlled and is parsed here, bounded,
 * before it is used. Ledger entries carry metadata only: never an identifier, a blinded element
 * or an output.
 */
import { hkdfSync } from "node:crypto";
import { AccordError } from "../errors.js";
import type { Agreement } from "../core/agreement/parse.js";
import type { GovernedAgreement } from "../core/agreement/lifecycle.js";
import { decide, type Reason } from "../core/policy/decide.js";
import type { StixObject } from "../core/stix/object.js";
import {
  IDENTIFIER_KINDS,
  buildGcs,
  createPsiParty,
  intersectPacked,
  isIdentifierKind,
  matchInfo,
  matchInput,
  normalizeIdentifier,
  parseGcs,
  type GcsFilter,
  type Identifier,
  type IdentifierKind,
} from "../core/match/index.js";
import { budgetWindow } from "../core/budget.js";
import { KIND_STIX_TYPE, identifiersIn, kindsForTypes } from "../core/match/extract.js";
import { packElements, unpackElements } from "../core/match/psi.js";
import { createParallelPsiParty, type PsiPool } from "../compute/index.js";
import {
  createPoprfServer,
  loadGroup,
  loadOprfSuite,
  type PoprfServer,
} from "../crypto/oprf/index.js";
import { openEnvelope, sealEnvelope } from "../crypto/envelope.js";
import type { LogDigests } from "../core/log-digest.js";
import { parsePublicJwk, type NodeKeys } from "../crypto/keys.js";
import { signJson, signatureKeyId, verifyJson } from "../crypto/sign.js";
import type { AccordNode, ShareOutcome } from "./node.js";
import type { KnownOfficer, OfficerDirectory } from "./officers.js";
import { partnerSigningKey } from "./key-rotation.js";
import type {
  Clock,
  Logger,
  MatchRequestRecord,
  MatchRequestStatus,
  Peer,
  Random,
  Store,
} from "./ports.js";

/** Identifiers per online evaluation (spec/match.md §messages). */
export const MAX_EVALUATION_BATCH = 64;
/** Items per PSI list. */
export const MAX_PSI_LIST = 100_000;
/** Key epochs are whole weeks since 1970-01-01 (UTC) unless configured otherwise. */
export const DEFAULT_EPOCH_SECONDS = 7 * 86_400;
/** The filter's item count is padded up to a multiple of this (spec/match.md §filter). */
export const FILTER_PAD = 1024;
/** Prüm II: core data within 48 hours of a match. */
export const STANDARD_DEADLINE_HOURS = 48;
/** Directive (EU) 2023/977 art. 5(1)(a): urgent requests within 8 hours. */
export const URGENT_DEADLINE_HOURS = 8;
/** The content type of a sealed follow-up request. */
export const FOLLOW_UP_CONTENT_TYPE = "application/accord-match-request+json";

const MAX_TEXT = 2000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const SLUG = /^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/;
const B64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const B64URL_64 = /^[A-Za-z0-9_-]{86}$/;

/** How the requester reaches a responder (federation/match-client.ts implements it over HTTP). */
export interface MatchTransport {
  fetchFilter(peer: Peer, agreementId: string): Promise<unknown>;
  evaluate(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown>;
  psi(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown>;
  fileRequest(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown>;
  notifyDecision(peer: Peer, body: Readonly<Record<string, unknown>>): Promise<unknown>;
}

export interface MatchDeps {
  readonly nodeId: string;
  readonly keys: NodeKeys;
  readonly store: Store;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly node: AccordNode;
  readonly transport: MatchTransport;
  /** 32 secret bytes from the node's key directory. Never logged. */
  readonly matchSecret: Uint8Array;
  /** Run a delivery pass (after a release). */
  readonly deliver?: () => Promise<void>;
  readonly epochSeconds?: number;
  /** How long a requester reuses a responder's filter, in ms (default 60 s; 0: fetch every time). */
  readonly filterTtlMs?: number;
  /** The officers who may decide follow-up requests (none: every decision is refused). */
  readonly officers?: OfficerDirectory;
  /**
   * The node's keyed log digests (spec/log.md, "Keyed digests"): a request's legal basis is
   * logged as its keyed digest, never as a plain SHA-256 a partner could confirm a guess against.
   */
  readonly logDigests: LogDigests;
  /**
   * The process's PSI worker pool (src/compute), started on first use: the group arithmetic of
   * a PSI session runs there, off the event loop. Without it PSI runs on this thread.
   */
  readonly psiPool?: () => Promise<PsiPool>;
}

/** A PSI party over packed element lists (n × 32 bytes), on the pool or on this thread. */
interface PackedPsiParty {
  blind(inputs: readonly Uint8Array[], options?: { shuffle?: boolean }): Promise<Uint8Array>;
  exponentiate(packed: Uint8Array, options?: { shuffle?: boolean }): Promise<Uint8Array>;
}

/** Who decides a follow-up request: an officer's own token (never logged), and reasons. */
export interface DecisionInput {
  /** The officer's token as presented; undefined when none was. */
  readonly token: string | undefined;
  readonly reasons?: readonly string[];
}

/** The signed filter a responder publishes per agreement and epoch (spec/match.md §filter). */
export interface FilterDocument {
  readonly accord: "match-filter/1";
  readonly responder: string;
  readonly requester: string;
  readonly agreement: string;
  readonly epoch: number;
  /** pkS of the agreement, base64url. */
  readonly public_key: string;
  readonly kinds: readonly string[];
  /** The AGCS bytes, base64url. */
  readonly filter: string;
  readonly issued_at: string;
  /** Detached JWS (EdDSA, the responder's node key) over every other member, RFC 8785. */
  readonly signature: string;
}

export interface QueryInput {
  readonly partner: string;
  readonly agreementId: string;
  readonly kind: string;
  /** 1 to 64 identifiers of that kind, as written (normalised here). */
  readonly values: readonly string[];
  /** Defaults to the agreement's first permitted purpose. */
  readonly purpose?: string;
}

export interface QueryResult {
  readonly queryId: string;
  readonly partner: string;
  readonly agreementId: string;
  readonly epoch: number;
  readonly kind: string;
  readonly at: string;
  /** One entry per value, in order: was it a hit. */
  readonly hits: readonly boolean[];
}

export interface PsiInput extends QueryInput {
  /** "intersection": which of our values are shared; "cardinality": only how many. */
  readonly mode: "intersection" | "cardinality";
}

export interface PsiResult {
  readonly sessionId: string;
  readonly partner: string;
  readonly agreementId: string;
  readonly kind: string;
  readonly mode: "intersection" | "cardinality";
  readonly ours: number;
  readonly theirs: number;
  readonly size: number;
  /** Intersection mode: the indices (into our values) that are shared. */
  readonly shared?: readonly number[];
}

export interface FileRequestInput {
  readonly queryId: string;
  /** The identifier that hit (it travels sealed to the responder). */
  readonly value: string;
  readonly legalBasis: string;
  readonly purpose?: string;
  readonly urgency?: "standard" | "urgent";
  readonly justification?: string;
}

/** A follow-up request as shown to people: with whether its deadline has passed. */
export type RequestView = MatchRequestRecord & { readonly overdue: boolean };

interface HeldAgreement {
  readonly agreement: Agreement;
  /** The version the agreement book governs (signatures, lifecycle events), as decide() takes it. */
  readonly governed: GovernedAgreement;
  readonly kinds: readonly IdentifierKind[];
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64url");

function fromB64(s: unknown, pattern: RegExp, what: string): Uint8Array {
  if (typeof s !== "string" || !pattern.test(s))
    throw new AccordError("ERR_MALFORMED_INPUT", `${what} is not base64url of the right length`);
  return new Uint8Array(Buffer.from(s, "base64url"));
}

function obj(raw: unknown, what: string): Record<string, unknown> {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw))
    throw new AccordError("ERR_MALFORMED_INPUT", `${what} is not a JSON object`);
  return raw as Record<string, unknown>;
}

function str(r: Record<string, unknown>, key: string, max = MAX_TEXT, pattern?: RegExp): string {
  const v = r[key];
  if (typeof v !== "string" || v.length === 0 || v.length > max || pattern?.test(v) === false)
    throw new AccordError("ERR_BAD_REQUEST", `\`${key}\` is missing or malformed`);
  return v;
}

function epochOf(r: Record<string, unknown>): number {
  const e = r.epoch;
  if (typeof e !== "number" || !Number.isInteger(e) || e < 0 || e > 0xffffffff)
    throw new AccordError("ERR_BAD_REQUEST", "`epoch` is not an integer from 0 to 2^32 - 1");
  return e;
}

function kindOf(r: Record<string, unknown>): IdentifierKind {
  const k = r.kind;
  if (!isIdentifierKind(k))
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`kind\` must be one of ${IDENTIFIER_KINDS.join(", ")}`,
    );
  return k;
}

function refused(reasons: readonly Reason[]): AccordError {
  return new AccordError("ERR_POLICY_DENIED", reasons[0]?.message ?? "denied", {
    details: reasons.map((r) => ({ path: r.clause, message: r.message })),
  });
}

/** A stand-in object of the type a query on `kind` is decided as (the engine reads its type). */
function queryObject(kind: IdentifierKind): StixObject {
  const type = KIND_STIX_TYPE[kind];
  const o: Record<string, unknown> = {
    type,
    spec_version: "2.1",
    id: `${type}--00000000-0000-4000-8000-000000000000`,
  };
  return o as StixObject;
}

function addHours(iso: string, hours: number): string {
  return new Date(Date.parse(iso) + hours * 3_600_000).toISOString();
}

/** The deadline of a follow-up request (spec/match.md §deadlines). */
export function requestDeadline(
  urgency: "standard" | "urgent",
  hitAt: string,
  filedAt: string,
): string {
  return urgency === "urgent"
    ? addHours(filedAt, URGENT_DEADLINE_HOURS)
    : addHours(hitAt, STANDARD_DEADLINE_HOURS);
}

/** Requests are overdue while pending after their deadline. */
export function isOverdue(r: MatchRequestRecord, now: Date): boolean {
  return r.status === "pending" && Date.parse(r.dueAt) < now.getTime();
}

export class MatchService {
  private readonly d: MatchDeps;
  private readonly servers = new Map<string, Promise<PoprfServer>>();
  private readonly filters = new Map<string, { key: string; items: Promise<Uint8Array> }>();
  private readonly remote = new Map<
    string,
    { at: number; doc: FilterDocument; filter: GcsFilter; publicKey: Uint8Array }
  >();

  constructor(deps: MatchDeps) {
    if (!(deps.matchSecret instanceof Uint8Array) || deps.matchSecret.length < 32)
      throw new RangeError("the match secret is at least 32 bytes");
    this.d = { ...deps, matchSecret: new Uint8Array(deps.matchSecret) };
  }

  /** The key epoch at `at` (whole epochs since 1970-01-01 UTC). */
  epochAt(at: Date): number {
    return Math.floor(at.getTime() / 1000 / (this.d.epochSeconds ?? DEFAULT_EPOCH_SECONDS));
  }

  // ---------------------------------------------------------------- agreements and keys

  /** The agreement held here that binds this node and `partner` for matching, or a refusal. */
  private held(agreementId: string, partner: string, at: Date): HeldAgreement {
    const governed = this.d.node.governedAgreements(at).find((x) => x.agreement.id === agreementId);
    const a = governed?.agreement;
    if (governed === undefined || a === undefined)
      throw new AccordError(
        "ERR_AGREEMENT_NOT_IN_FORCE",
        `agreement \`${agreementId}\` is not held by \`${this.d.nodeId}\``,
      );
    const parties = a.doc.parties.map((p) => p.node);
    if (!parties.includes(this.d.nodeId) || !parties.includes(partner))
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `denied: \`${partner}\` is not a party to \`${a.id}\` v${a.version} §parties`,
      );
    const t = at.getTime();
    if (t < a.effectiveFromMs || t >= a.sunsetMs)
      throw new AccordError(
        "ERR_AGREEMENT_NOT_IN_FORCE",
        `agreement \`${a.id}\` v${a.version} is not in force (${a.doc.effective_from} to ${a.doc.sunset})`,
      );
    if (governed.state.status !== "in-force")
      throw new AccordError(
        "ERR_AGREEMENT_NOT_IN_FORCE",
        `agreement \`${a.id}\` v${a.version} is ${governed.state.status}: ${governed.state.detail}`,
      );
    return { agreement: a, governed, kinds: kindsForTypes(a.doc.queries.types) };
  }

  private server(agreementId: string): Promise<PoprfServer> {
    let s = this.servers.get(agreementId);
    if (s === undefined) {
      s = loadOprfSuite().then((suite) => {
        const seed = new Uint8Array(
          hkdfSync("sha256", this.d.matchSecret, "accord-match-v1", `skS|${agreementId}`, 32),
        );
        const { secretKey } = suite.poprf.deriveKeyPair(
          seed,
          new TextEncoder().encode("accord-match-key-v1"),
        );
        return createPoprfServer(secretKey);
      });
      this.servers.set(agreementId, s);
    }
    return s;
  }

  /** Every identifier of `kinds` in the objects this node originated. */
  private async heldIdentifiers(
    kinds: readonly IdentifierKind[],
  ): Promise<{ id: Identifier; object: string }[]> {
    const wanted = new Set(kinds);
    const out: { id: Identifier; object: string }[] = [];
    if (wanted.size === 0) return out;
    let afterId: string | undefined;
    for (;;) {
      const page = await this.d.store.objects.list(
        afterId === undefined ? { limit: 1000 } : { afterId, limit: 1000 },
      );
      for (const o of page)
        if (o.provenance.originator === this.d.nodeId)
          for (const id of identifiersIn(o.object, wanted)) out.push({ id, object: o.object.id });
      const last = page.at(-1);
      if (page.length < 1000 || last === undefined) return out;
      afterId = last.object.id;
    }
  }

  // ---------------------------------------------------------------- responder

  /** The signed filter for `partner` under `agreementId` at the current epoch. */
  async publishFilter(partner: string, agreementId: string): Promise<FilterDocument> {
    const now = this.d.clock.now();
    const { agreement, kinds } = this.held(agreementId, partner, now);
    const epoch = this.epochAt(now);
    const server = await this.server(agreement.id);
    const info = matchInfo(agreement.id, epoch);
    const version = String(await this.d.store.objects.count());
    const cacheKey = `${agreement.id}|${String(agreement.version)}|${String(epoch)}|${version}`;
    let cached = this.filters.get(agreement.id);
    if (cached?.key !== cacheKey) {
      const items = this.heldIdentifiers(kinds).then((held) => {
        const unique = new Map(held.map((h) => [`${h.id.kind}\n${h.id.value}`, h.id]));
        const outputs = [...unique.values()].map((id) => server.evaluate(matchInput(id), info));
        return buildGcs(outputs, { padToMultipleOf: FILTER_PAD });
      });
      cached = { key: cacheKey, items };
      this.filters.set(agreement.id, cached);
    }
    const filter = await cached.items;
    const body = {
      accord: "match-filter/1" as const,
      responder: this.d.nodeId,
      requester: partner,
      agreement: agreement.id,
      epoch,
      public_key: b64(server.publicKey),
      kinds: [...kinds],
      filter: b64(filter),
      issued_at: now.toISOString(),
    };
    const at = now.toISOString();
    await this.d.store.ledger.append({
      kind: "match-filter",
      at,
      data: { partner, agreement: agreement.id, epoch, kinds: [...kinds], bytes: filter.length },
    });
    return { ...body, signature: await signJson(body, this.d.keys.signing.privateKey) };
  }

  /**
   * Authorise, count and log one online evaluation from `partner` (authenticated by the caller),
   * then evaluate. `raw` is the request body (attacker-controlled).
   */
  async evaluate(partner: string, raw: unknown): Promise<Record<string, unknown>> {
    const r = obj(raw, "the evaluation request");
    const queryId = str(r, "query_id", 36, UUID);
    const agreementId = str(r, "agreement", 64, SLUG);
    const epoch = epochOf(r);
    const kind = kindOf(r);
    const purpose = str(r, "purpose", 64, SLUG);
    const list = r.blinded_elements;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_EVALUATION_BATCH)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`blinded_elements\` holds 1 to ${String(MAX_EVALUATION_BATCH)} elements`,
      );
    const g = await loadGroup();
    const blinded = list.map((e, i) =>
      g.deserializeElement(
        fromB64(e, B64URL_32, `blinded element ${String(i)}`),
        "blinded element",
      ),
    );
    const now = this.d.clock.now();
    await this.authorise(partner, agreementId, kind, purpose, now, {
      mode: "oprf",
      query: queryId,
      cost: blinded.length,
      epoch,
    });
    const server = await this.server(agreementId);
    const proven = server.blindEvaluate(blinded, matchInfo(agreementId, epoch));
    return {
      accord: "match-evaluation/1",
      query_id: queryId,
      agreement: agreementId,
      epoch,
      evaluated_elements: proven.evaluatedElements.map(b64),
      proof: b64(proven.proof),
    };
  }

  /**
   * The gate every online evaluation and PSI session passes: agreement, decide(query), epoch,
   * budget (day and burst, atomic), one ledger entry either way.
   */
  private async authorise(
    partner: string,
    agreementId: string,
    kind: IdentifierKind,
    purpose: string,
    now: Date,
    what: { mode: "oprf" | "psi"; query: string; cost: number; epoch: number },
  ): Promise<{ agreement: Agreement }> {
    const at = now.toISOString();
    const base = {
      action: "query",
      mode: what.mode,
      query: what.query,
      partner,
      agreement: agreementId,
      epoch: what.epoch,
      kind,
      purpose,
      elements: what.cost,
    };
    const deny = async (clauses: string[], err: AccordError): Promise<never> => {
      await this.d.store.ledger.append({
        kind: "decision",
        at,
        data: { ...base, effect: "deny", clauses, code: err.code },
      });
      throw err;
    };
    let held: HeldAgreement;
    try {
      held = this.held(agreementId, partner, now);
    } catch (e) {
      return deny(["default"], e as AccordError);
    }
    const a = held.agreement;
    const daily = a.doc.queries.budget_per_day;
    const limits = { day: daily, burst: burstLimit(a) };
    const clause = (w: "day" | "burst") =>
      `${a.id} v${String(a.version)} §queries.${w === "day" ? "budget_per_day" : "budget_per_burst"}`;
    // `because`: the engine's own sentence when decide() refused (it quotes what was spent).
    const exhausted = (w: "day" | "burst", resetAt: string, because?: string) =>
      deny(
        [clause(w)],
        new AccordError(
          "ERR_BUDGET_EXHAUSTED",
          `the ${w === "day" ? "daily" : "burst (per minute)"} hit/no-hit budget of \`${partner}\` under \`${agreementId}\` (${String(limits[w])}) does not cover ${String(what.cost)} more; it resets at ${resetAt}${because === undefined ? "" : ` (${because})`}`,
          { retryAt: resetAt, details: [{ path: clause(w), message: `resets at ${resetAt}` }] },
        ),
      );
    // The engine sees what the partner spent today (the budget port), so its reasons quote the
    // budget clause; the atomic consume below still decides a race.
    const queriesToday = await this.d.store.budgets.used({
      agreementId,
      partner,
      window: "day",
      at,
    });
    const decision = decide(
      queryObject(kind),
      {
        action: "query",
        self: this.d.nodeId,
        partner,
        purpose,
        at: now,
        agreementId,
        queriesToday,
      },
      [held.governed],
    );
    if (decision.effect === "deny") {
      if (decision.reasons.every((x) => x.clause === clause("day")))
        return exhausted("day", budgetWindow("day", at).end, decision.reasons[0]?.message);
      return deny(
        decision.reasons.map((x) => x.clause),
        refused(decision.reasons),
      );
    }
    if (what.mode === "oprf" && what.epoch !== this.epochAt(now))
      return deny(
        ["epoch"],
        new AccordError(
          "ERR_BAD_REQUEST",
          `key epoch ${String(what.epoch)} is not the current one (${String(this.epochAt(now))}); fetch the filter again`,
        ),
      );
    const spent = await this.d.store
      .transaction(async (tx) => {
        const used: Record<string, number> = {};
        for (const window of ["day", "burst"] as const) {
          const c = await tx.budgets.consume({
            agreementId,
            partner,
            window,
            limit: limits[window],
            at,
            cost: what.cost,
          });
          if (!c.allowed) throw new Exhausted(window, c.resetAt);
          used[window] = limits[window] - c.remaining;
        }
        await tx.ledger.append({
          kind: "decision",
          at,
          data: {
            ...base,
            effect: "permit",
            clauses: decision.reasons.map((x) => x.clause),
            budget: {
              day: `${String(used.day)}/${String(daily)}`,
              burst: `${String(used.burst)}/${String(limits.burst)}`,
            },
          },
        });
        await tx.match.putQuery({
          id: what.query,
          side: "responder",
          partner,
          agreementId,
          epoch: what.epoch,
          kind,
          purpose,
          elements: what.cost,
          hits: null,
          at,
        });
        return undefined;
      })
      .catch((e: unknown) => {
        if (e instanceof Exhausted) return e;
        throw e;
      });
    if (spent instanceof Exhausted) return exhausted(spent.window, spent.resetAt);
    this.d.logger.info(
      { partner, agreement: agreementId, kind, elements: what.cost, mode: what.mode },
      "match evaluation authorised",
    );
    return { agreement: a };
  }

  /**
   * The responder's half of a DH-PSI session (spec/match.md §bulk). The elements are checked
   * (on the pool) before anything is spent; the multiplications run on the pool, so the node
   * keeps answering while a large list is worked through.
   */
  async psiRespond(partner: string, raw: unknown): Promise<Record<string, unknown>> {
    const r = obj(raw, "the PSI request");
    const sessionId = str(r, "session_id", 36, UUID);
    const agreementId = str(r, "agreement", 64, SLUG);
    const kind = kindOf(r);
    const purpose = str(r, "purpose", 64, SLUG);
    const mode = r.mode;
    if (mode !== "intersection" && mode !== "cardinality")
      throw new AccordError("ERR_BAD_REQUEST", "`mode` must be intersection or cardinality");
    const list = r.elements;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PSI_LIST)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`elements\` holds 1 to ${String(MAX_PSI_LIST)} elements`,
      );
    const elements = packB64(list, "element");
    const bad = await this.firstInvalid(elements);
    if (bad >= 0)
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `the PSI element at position ${String(bad)} is not a valid group element`,
        { details: [{ path: `/elements/${String(bad)}`, message: "not a valid group element" }] },
      );
    const now = this.d.clock.now();
    await this.authorise(partner, agreementId, kind, purpose, now, {
      mode: "psi",
      query: sessionId,
      cost: list.length,
      epoch: 0,
    });
    const party = await this.psiParty(psiContext(agreementId, kind, sessionId));
    const ours = await this.heldIdentifiers([kind]);
    const unique = new Map(ours.map((h) => [h.id.value, h.id]));
    const [doubled, blinded] = await Promise.all([
      party.exponentiate(elements, { shuffle: mode === "cardinality" }),
      party.blind(
        [...unique.values()].map((id) => matchInput(id)),
        { shuffle: true },
      ),
    ]);
    return {
      accord: "match-psi-answer/1",
      session_id: sessionId,
      doubled: unpackB64(doubled),
      elements: unpackB64(blinded),
    };
  }

  /** A PSI party for one session: on the pool when the node has one. */
  private async psiParty(context: string): Promise<PackedPsiParty> {
    if (this.d.psiPool !== undefined)
      return createParallelPsiParty(await this.d.psiPool(), { context });
    const party = await createPsiParty({ context });
    return {
      blind: (inputs, o) => Promise.resolve(packElements(party.blind(inputs, o))),
      exponentiate: (packed, o) =>
        Promise.resolve(packElements(party.exponentiate(unpackElements(packed), o))),
    };
  }

  /** The first invalid packed element from a peer, or -1 (on the pool when the node has one). */
  private async firstInvalid(packed: Uint8Array): Promise<number> {
    if (this.d.psiPool !== undefined) return (await this.d.psiPool()).firstInvalid(packed);
    return (await loadGroup()).firstInvalid(packed);
  }

  // ---------------------------------------------------------------- requester

  private async peer(partner: string): Promise<Peer> {
    const p = await this.d.store.peers.get(partner);
    if (p === undefined)
      throw new AccordError(
        "ERR_UNKNOWN_PARTNER",
        `\`${partner}\` is not a known partner of \`${this.d.nodeId}\``,
      );
    return p;
  }

  /** Refuse locally what the responder would refuse: a kind the agreement does not allow. */
  private checkKind(held: HeldAgreement, kind: string, purpose: string): IdentifierKind {
    if (!isIdentifierKind(kind))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the identifier kind \`${kind.slice(0, 40)}\` is not supported`,
      );
    const a = held.agreement;
    if (!held.kinds.includes(kind))
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `denied: \`${kind}\` (STIX \`${KIND_STIX_TYPE[kind]}\`) may not be matched under \`${a.id}\` v${String(a.version)} §queries.types`,
      );
    if (!a.doc.purposes.permitted.includes(purpose as never))
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `denied: purpose \`${purpose}\` is not permitted under \`${a.id}\` v${String(a.version)} §purposes.permitted`,
      );
    return kind;
  }

  private async remoteFilter(
    peer: Peer,
    agreementId: string,
    fresh: boolean,
  ): Promise<{ doc: FilterDocument; filter: GcsFilter; publicKey: Uint8Array }> {
    const key = `${peer.nodeId}|${agreementId}`;
    const ttl = this.d.filterTtlMs ?? 60_000;
    const hit = this.remote.get(key);
    const now = this.d.clock.now().getTime();
    if (!fresh && hit !== undefined && now - hit.at < ttl) return hit;
    const raw = obj(await this.d.transport.fetchFilter(peer, agreementId), "the filter document");
    const { signature, ...body } = raw;
    // The pinned key, or a previous key of the partner's inside its rotation overlap.
    const signer =
      typeof signature === "string"
        ? await partnerSigningKey(
            this.d.store,
            // As pinned now: the partner may have rotated since `peer` was read.
            (await this.d.store.peers.get(peer.nodeId)) ?? peer,
            signatureKeyId(signature),
            this.d.clock.now(),
          )
        : undefined;
    if (
      typeof signature !== "string" ||
      signer === undefined ||
      !(await verifyJson(signature, body, signer))
    )
      throw new AccordError(
        "ERR_SIGNATURE_INVALID",
        `the filter from \`${peer.nodeId}\` is not signed by its key`,
      );
    if (
      body.accord !== "match-filter/1" ||
      body.responder !== peer.nodeId ||
      body.requester !== this.d.nodeId ||
      body.agreement !== agreementId
    )
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `the filter from \`${peer.nodeId}\` names another node or agreement`,
      );
    const epoch = epochOf(body);
    const publicKey = fromB64(body.public_key, B64URL_32, "the filter's public key");
    const filterText = body.filter;
    if (typeof filterText !== "string" || !/^[A-Za-z0-9_-]*$/.test(filterText))
      throw new AccordError("ERR_MALFORMED_INPUT", "the filter is not base64url");
    const filter = parseGcs(new Uint8Array(Buffer.from(filterText, "base64url")));
    const entry = {
      at: now,
      doc: { ...(raw as unknown as FilterDocument), epoch },
      filter,
      publicKey,
    };
    this.remote.set(key, entry);
    return entry;
  }

  /** Ask `partner` whether it holds each value: one bit per value, nothing else learned or revealed. */
  async query(input: QueryInput): Promise<QueryResult> {
    const peer = await this.peer(input.partner);
    const now = this.d.clock.now();
    const held = this.held(input.agreementId, peer.nodeId, now);
    const purpose = input.purpose ?? held.agreement.doc.purposes.permitted[0] ?? "";
    const kind = this.checkKind(held, input.kind, purpose);
    if (input.values.length === 0 || input.values.length > MAX_EVALUATION_BATCH)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `ask about 1 to ${String(MAX_EVALUATION_BATCH)} identifiers at a time`,
      );
    const inputs = input.values.map((v) => matchInput(normalizeIdentifier(kind, v)));
    const suite = await loadOprfSuite();
    const queryId = this.d.random.uuid();
    let result: { hits: boolean[]; epoch: number } | undefined;
    for (let attempt = 0; result === undefined; attempt++) {
      const remote = await this.remoteFilter(peer, held.agreement.id, attempt > 0);
      const epoch = remote.doc.epoch;
      const info = matchInfo(held.agreement.id, epoch);
      const blinded = inputs.map((x) => suite.poprf.blind(x, info, remote.publicKey));
      let answer: Record<string, unknown>;
      try {
        answer = obj(
          await this.d.transport.evaluate(peer, {
            accord: "match-evaluate/1",
            query_id: queryId,
            agreement: held.agreement.id,
            epoch,
            kind,
            purpose,
            blinded_elements: blinded.map((b) => b64(b.blindedElement)),
          }),
          "the evaluation",
        );
      } catch (e) {
        // The responder moved to a new key epoch since the filter was fetched: fetch it once more.
        if (
          attempt === 0 &&
          e instanceof AccordError &&
          e.code === "ERR_BAD_REQUEST" &&
          e.message.includes("epoch")
        )
          continue;
        throw e;
      }
      if (answer.query_id !== queryId || answer.epoch !== epoch)
        throw new AccordError("ERR_MALFORMED_INPUT", "the evaluation answers another query");
      const evaluated = answer.evaluated_elements;
      if (!Array.isArray(evaluated) || evaluated.length !== inputs.length)
        throw new AccordError(
          "ERR_MALFORMED_INPUT",
          "the evaluation has the wrong number of elements",
        );
      const outputs = suite.poprf.finalize(
        inputs,
        blinded.map((b) => b.blind),
        evaluated.map((e, i) => fromB64(e, B64URL_32, `evaluated element ${String(i)}`)),
        blinded.map((b) => b.blindedElement),
        fromB64(answer.proof, B64URL_64, "the proof"),
        info,
        blinded[0]?.tweakedKey ?? new Uint8Array(),
      );
      result = { hits: outputs.map((o) => remote.filter.has(o)), epoch };
    }
    const at = this.d.clock.now().toISOString();
    const hits = result.hits.filter(Boolean).length;
    await this.d.store.transaction(async (tx) => {
      await tx.match.putQuery({
        id: queryId,
        side: "requester",
        partner: peer.nodeId,
        agreementId: held.agreement.id,
        epoch: result.epoch,
        kind,
        purpose,
        elements: inputs.length,
        hits,
        at,
      });
      await tx.ledger.append({
        kind: "match-query",
        at,
        data: {
          query: queryId,
          partner: peer.nodeId,
          agreement: held.agreement.id,
          epoch: result.epoch,
          kind,
          purpose,
          elements: inputs.length,
          hits,
        },
      });
    });
    return {
      queryId,
      partner: peer.nodeId,
      agreementId: held.agreement.id,
      epoch: result.epoch,
      kind,
      at,
      hits: result.hits,
    };
  }

  /** List against list with `partner` (DH-PSI over ristretto255), authorised and budgeted there. */
  async psi(input: PsiInput): Promise<PsiResult> {
    const peer = await this.peer(input.partner);
    const now = this.d.clock.now();
    const held = this.held(input.agreementId, peer.nodeId, now);
    const purpose = input.purpose ?? held.agreement.doc.purposes.permitted[0] ?? "";
    const kind = this.checkKind(held, input.kind, purpose);
    if (input.values.length === 0 || input.values.length > MAX_PSI_LIST)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `a PSI list holds 1 to ${String(MAX_PSI_LIST)} identifiers`,
      );
    const ids = input.values.map((v) => matchInput(normalizeIdentifier(kind, v)));
    const sessionId = this.d.random.uuid();
    const party = await this.psiParty(psiContext(held.agreement.id, kind, sessionId));
    const answer = obj(
      await this.d.transport.psi(peer, {
        accord: "match-psi/1",
        session_id: sessionId,
        agreement: held.agreement.id,
        kind,
        purpose,
        mode: input.mode,
        elements: unpackB64(await party.blind(ids)),
      }),
      "the PSI answer",
    );
    if (answer.session_id !== sessionId)
      throw new AccordError("ERR_MALFORMED_INPUT", "the PSI answer is for another session");
    const doubled = answer.doubled;
    const theirs = answer.elements;
    if (
      !Array.isArray(doubled) ||
      doubled.length !== ids.length ||
      !Array.isArray(theirs) ||
      theirs.length > MAX_PSI_LIST
    )
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        "the PSI answer has the wrong number of elements",
      );
    const own = packB64(doubled, "doubled element");
    const peerDouble = await party.exponentiate(packB64(theirs, "element"));
    const shared = intersectPacked(own, peerDouble);
    const at = this.d.clock.now().toISOString();
    await this.d.store.ledger.append({
      kind: "match-psi",
      at,
      data: {
        session: sessionId,
        partner: peer.nodeId,
        agreement: held.agreement.id,
        kind,
        purpose,
        mode: input.mode,
        ours: ids.length,
        theirs: theirs.length,
        size: shared.length,
      },
    });
    return {
      sessionId,
      partner: peer.nodeId,
      agreementId: held.agreement.id,
      kind,
      mode: input.mode,
      ours: ids.length,
      theirs: theirs.length,
      size: shared.length,
      ...(input.mode === "intersection" ? { shared } : {}),
    };
  }

  // ---------------------------------------------------------------- follow-up requests

  private view(r: MatchRequestRecord): RequestView {
    // A pending request being decided holds a claim in decidedBy/decidedAt: not a decision.
    const undecided = r.status === "pending" ? { decidedAt: null, decidedBy: null } : {};
    return { ...r, ...undecided, overdue: isOverdue(r, this.d.clock.now()) };
  }

  /** File a follow-up request with the partner that answered `queryId` with a hit. */
  async fileRequest(input: FileRequestInput): Promise<RequestView> {
    const q = await this.d.store.match.getQuery(input.queryId, "requester");
    if (q === undefined)
      throw new AccordError("ERR_NOT_FOUND", `no query \`${input.queryId}\` was made from here`);
    if (q.hits === null || q.hits === 0)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `query \`${q.id}\` was not a hit; a follow-up request needs one`,
      );
    const peer = await this.peer(q.partner);
    const now = this.d.clock.now();
    const held = this.held(q.agreementId, peer.nodeId, now);
    if (held.agreement.doc.queries.release === "never")
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `denied: nothing is released after a hit under \`${held.agreement.id}\` §queries.release`,
      );
    const kind = q.kind as IdentifierKind;
    const identifier = normalizeIdentifier(kind, input.value).value;
    const legalBasis = input.legalBasis.trim();
    if (legalBasis.length === 0 || legalBasis.length > MAX_TEXT)
      throw new AccordError("ERR_BAD_REQUEST", "cite the legal basis (1 to 2000 characters)");
    const purpose = input.purpose ?? q.purpose;
    this.checkKind(held, kind, purpose);
    const urgency = input.urgency ?? "standard";
    const justification = (input.justification ?? "").slice(0, MAX_TEXT);
    const filedAt = now.toISOString();
    const id = this.d.random.uuid();
    const wire = {
      accord: "match-followup/1",
      id,
      query_id: q.id,
      agreement: q.agreementId,
      kind,
      identifier,
      legal_basis: legalBasis,
      purpose,
      urgency,
      justification,
      filed_at: filedAt,
    };
    const envelope = await sealEnvelope(
      {
        id,
        sender: this.d.nodeId,
        recipient: peer.nodeId,
        createdAt: filedAt,
        contentType: FOLLOW_UP_CONTENT_TYPE,
      },
      new TextEncoder().encode(JSON.stringify(wire)),
      this.d.keys.signing.privateKey,
      parsePublicJwk(peer.encryptionKey, "X25519"),
    );
    const ack = obj(await this.d.transport.fileRequest(peer, { envelope }), "the acknowledgement");
    const dueAt =
      typeof ack.due_at === "string" && !Number.isNaN(Date.parse(ack.due_at))
        ? new Date(Date.parse(ack.due_at)).toISOString()
        : requestDeadline(urgency, q.at, filedAt);
    const rec: MatchRequestRecord = {
      id,
      direction: "outgoing",
      partner: peer.nodeId,
      agreementId: q.agreementId,
      queryId: q.id,
      kind,
      identifier,
      legalBasis,
      purpose,
      urgency,
      justification,
      filedAt,
      hitAt: q.at,
      dueAt,
      status: "pending",
      decidedAt: null,
      decidedBy: null,
      decidedRole: null,
      reasons: [],
      released: [],
    };
    await this.d.store.transaction(async (tx) => {
      await tx.match.putRequest(rec);
      await tx.ledger.append({
        kind: "match-request",
        at: filedAt,
        data: requestLog(rec, this.d.logDigests),
      });
    });
    return this.view(rec);
  }

  /** A sealed follow-up request from `partner` (authenticated by the caller). */
  async receiveRequest(partner: string, raw: unknown): Promise<Record<string, unknown>> {
    const r = obj(raw, "the follow-up request");
    const envelope = str(r, "envelope", 1 << 20);
    const peer = await this.peer(partner);
    const now = this.d.clock.now();
    const opened = await openEnvelope(envelope, {
      recipientKeys: this.d.keys,
      expectedRecipient: this.d.nodeId,
      // The pinned key, or a previous one inside its rotation overlap and never revoked.
      senderKey: (sender, kid) =>
        sender === peer.nodeId
          ? partnerSigningKey(this.d.store, peer, kid, now)
          : Promise.resolve(undefined),
      now,
      maxSkewSeconds: 3600,
    });
    if (opened.header.contentType !== FOLLOW_UP_CONTENT_TYPE)
      throw new AccordError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        "the envelope holds no follow-up request",
      );
    let w: Record<string, unknown>;
    try {
      w = obj(
        JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(opened.payload)),
        "the follow-up request",
      );
    } catch (e) {
      if (e instanceof AccordError) throw e;
      throw new AccordError("ERR_MALFORMED_INPUT", "the follow-up request is not JSON");
    }
    if (w.accord !== "match-followup/1" || w.id !== opened.header.id)
      throw new AccordError("ERR_MALFORMED_INPUT", "the follow-up request is malformed");
    const id = opened.header.id;
    const queryId = str(w, "query_id", 36, UUID);
    const agreementId = str(w, "agreement", 64, SLUG);
    const kind = kindOf(w);
    const identifier = normalizeIdentifier(kind, w.identifier).value;
    const legalBasis = str(w, "legal_basis");
    const purpose = str(w, "purpose", 64, SLUG);
    const urgency = w.urgency === "urgent" ? "urgent" : "standard";
    const justification =
      typeof w.justification === "string" ? w.justification.slice(0, MAX_TEXT) : "";
    const held = this.held(agreementId, partner, now);
    const q = await this.d.store.match.getQuery(queryId, "responder");
    if (q?.partner !== partner || q.agreementId !== agreementId || q.kind !== kind)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `the request cites query \`${queryId}\`, which \`${partner}\` did not make here under \`${agreementId}\` for \`${kind}\``,
      );
    if (held.agreement.doc.queries.release === "never")
      throw new AccordError(
        "ERR_POLICY_DENIED",
        `denied: nothing is released after a hit under \`${agreementId}\` §queries.release`,
      );
    const filedAt = now.toISOString();
    const rec: MatchRequestRecord = {
      id,
      direction: "incoming",
      partner,
      agreementId,
      queryId,
      kind,
      identifier,
      legalBasis,
      purpose,
      urgency,
      justification,
      filedAt,
      hitAt: q.at,
      dueAt: requestDeadline(urgency, q.at, filedAt),
      status: "pending",
      decidedAt: null,
      decidedBy: null,
      decidedRole: null,
      reasons: [],
      released: [],
    };
    const put = await this.d.store.transaction(async (tx) => {
      const p = await tx.match.putRequest(rec);
      if (p === "inserted")
        await tx.ledger.append({
          kind: "match-request",
          at: filedAt,
          data: requestLog(rec, this.d.logDigests),
        });
      return p;
    });
    const stored = put === "inserted" ? rec : await this.d.store.match.getRequest(id, "incoming");
    return { id, status: stored?.status ?? "pending", due_at: stored?.dueAt ?? rec.dueAt };
  }

  async listRequests(
    q: {
      direction?: MatchRequestRecord["direction"];
      status?: MatchRequestStatus;
      limit?: number;
    } = {},
  ): Promise<RequestView[]> {
    const list = await this.d.store.match.listRequests({
      limit: q.limit ?? 100,
      ...(q.direction === undefined ? {} : { direction: q.direction }),
      ...(q.status === undefined ? {} : { status: q.status }),
    });
    return list.map((r) => this.view(r));
  }

  async getRequest(id: string): Promise<RequestView> {
    const r =
      (await this.d.store.match.getRequest(id, "incoming")) ??
      (await this.d.store.match.getRequest(id, "outgoing"));
    if (r === undefined) throw new AccordError("ERR_NOT_FOUND", `no follow-up request \`${id}\``);
    return this.view(r);
  }

  private async pendingIncoming(id: string): Promise<MatchRequestRecord> {
    const r = await this.d.store.match.getRequest(id, "incoming");
    if (r === undefined)
      throw new AccordError("ERR_NOT_FOUND", `no follow-up request \`${id}\` was filed here`);
    if (r.status !== "pending")
      throw new AccordError("ERR_BAD_REQUEST", `request \`${id}\` was already ${r.status}`);
    return r;
  }

  /**
   * Approve an incoming request as the officer whose token is presented: the officer's roles that
   * the agreement's `decision_rights.release` names approve (none: refused and logged). The
   * records this node originated that hold the identifier are released through the share path
   * with action `release` (decide, minimize, seal, outbox, ledger).
   */
  async approve(
    id: string,
    by: DecisionInput,
  ): Promise<{ request: RequestView; share: ShareOutcome | undefined }> {
    const officer = await this.officer(id, "release", by.token);
    return this.exclusively(id, (r, claim) => this.approveNow(r, claim, officer, by.reasons ?? []));
  }

  /**
   * The officer whose token this is; a missing or unknown token is refused
   * (`ERR_UNAUTHENTICATED`) and logged as a denied decision naming no one.
   */
  private async officer(
    id: string,
    action: "release" | "refuse",
    token: string | undefined,
  ): Promise<KnownOfficer> {
    const officer =
      token === undefined || token === "" ? undefined : this.d.officers?.authenticate(token);
    if (officer !== undefined) return officer;
    const message =
      token === undefined || token === ""
        ? "an officer's own token is required to decide a follow-up request (header `Accord-Officer-Token`)"
        : "the officer token is not one this node knows (accord.yaml `officers`)";
    await this.d.store.ledger.append({
      kind: "decision",
      at: this.d.clock.now().toISOString(),
      data: {
        action,
        request: id.slice(0, 64),
        officerPseudonym: null,
        effect: "deny",
        code: "ERR_UNAUTHENTICATED",
        clauses: ["officer-credential"],
      },
    });
    throw new AccordError("ERR_UNAUTHENTICATED", message);
  }

  /**
   * The officer's roles the agreement gives this decision, in the officer's order; none is
   * refused (`ERR_POLICY_DENIED`) and logged with the officer's pseudonym (the refusal's message,
   * to the officer alone, names them). Approving needs a role of
   * `decision_rights.release`; refusing one of those or of the escalation ladder.
   */
  private async rolesFor(
    r: MatchRequestRecord,
    a: Agreement,
    officer: KnownOfficer,
    action: "release" | "refuse",
  ): Promise<string[]> {
    const rights = a.doc.decision_rights;
    const allowed = new Set(
      action === "release"
        ? rights.release
        : [...rights.release, ...rights.escalation.map((e) => e.role)],
    );
    const granted = officer.roles.filter((x) => allowed.has(x));
    if (granted.length > 0) return granted;
    const clause = `${a.id} v${String(a.version)} §decision_rights.${action === "release" ? "release" : "release, §decision_rights.escalation"}`;
    const needs =
      allowed.size === 0
        ? "a role the agreement does not name"
        : [...allowed].map((x) => `\`${x}\``).join(" or ");
    const holds =
      officer.roles.length === 0 ? "no role" : officer.roles.map((x) => `\`${x}\``).join(", ");
    const message = `denied: ${action === "release" ? "a release" : "refusing a request"} under \`${a.id}\` v${String(a.version)} needs ${needs}; officer \`${officer.name}\` holds ${holds}`;
    await this.d.store.ledger.append({
      kind: "decision",
      at: this.d.clock.now().toISOString(),
      data: {
        action,
        request: r.id,
        partner: r.partner,
        agreement: a.id,
        officerPseudonym: officer.pseudonym,
        roles: [...officer.roles],
        effect: "deny",
        clauses: [clause],
      },
    });
    throw new AccordError("ERR_POLICY_DENIED", message, {
      details: [{ path: clause, message }],
    });
  }

  /**
   * Run one decision on request `id` at a time across every process sharing the database: the
   * request is claimed by a conditional update first (a second concurrent decider is refused),
   * and the claim is given back when the decision fails. A claim left by a crashed process
   * expires after CLAIM_STALE_MS.
   */
  private async exclusively<T>(
    id: string,
    fn: (r: MatchRequestRecord, claim: string) => Promise<T>,
  ): Promise<T> {
    const r = await this.pendingIncoming(id);
    const now = this.d.clock.now();
    const claim = `claim:${this.d.random.uuid()}`;
    const claimed = await this.d.store.match.claimRequest(id, "incoming", {
      claim,
      at: now.toISOString(),
      staleBefore: new Date(now.getTime() - CLAIM_STALE_MS).toISOString(),
    });
    if (!claimed)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `request \`${id}\` is being decided right now, or was just decided`,
      );
    try {
      return await fn(r, claim);
    } catch (e) {
      await this.d.store.match.releaseClaim(id, "incoming", claim);
      throw e;
    }
  }

  private async approveNow(
    r: MatchRequestRecord,
    claim: string,
    officer: KnownOfficer,
    reasons: readonly string[],
  ): Promise<{ request: RequestView; share: ShareOutcome | undefined }> {
    const id = r.id;
    const a = this.held(r.agreementId, r.partner, this.d.clock.now()).agreement;
    const roles = await this.rolesFor(r, a, officer, "release");
    const kind = r.kind as IdentifierKind;
    const holders = [
      ...new Set(
        (await this.heldIdentifiers([kind]))
          .filter((h) => h.id.value === r.identifier)
          .map((h) => h.object),
      ),
    ];
    if (holders.length === 0)
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `no record originated here holds the identifier of request \`${id}\`; refuse it with reasons`,
      );
    const [share] = await this.d.node.share({
      recipients: [r.partner],
      purpose: r.purpose,
      agreementId: r.agreementId,
      objectIds: holders,
      action: "release",
      approvedBy: roles,
    });
    if (share === undefined || share.sent === 0) {
      const reasons =
        share?.verdicts.flatMap((v) => v.reasons.filter((x) => x.effect === "deny")) ?? [];
      throw refused(
        reasons.length > 0
          ? reasons
          : [{ effect: "deny", clause: "default", message: "denied: nothing could be released" }],
      );
    }
    const released = share.verdicts
      .filter((v) => v.effect === "permit")
      .map((v) => (v as { sentAs?: string }).sentAs ?? v.id);
    const decided = await this.decide(r, claim, {
      status: "approved",
      officer,
      role: roles[0] ?? null,
      reasons,
      released,
    });
    if (this.d.deliver !== undefined) await this.d.deliver();
    return { request: decided, share };
  }

  /**
   * Refuse an incoming request as the officer whose token is presented (a role of the agreement's
   * decision rights or escalation ladder); reasons are required and travel to the requester.
   */
  async refuse(id: string, by: DecisionInput): Promise<RequestView> {
    const officer = await this.officer(id, "refuse", by.token);
    const reasons = (by.reasons ?? []).map((x) => x.trim()).filter((x) => x !== "");
    if (reasons.length === 0 || reasons.some((x) => x.length > MAX_TEXT))
      throw new AccordError(
        "ERR_BAD_REQUEST",
        "a refusal states its reasons (each 1 to 2000 characters)",
      );
    return this.exclusively(id, async (r, claim) => {
      // A refusal stays possible after the agreement has lapsed: its decision rights still say who.
      const a = this.d.node
        .listAgreements()
        .filter((x) => x.id === r.agreementId)
        .reduce<Agreement | undefined>(
          (m, x) => (m === undefined || x.version > m.version ? x : m),
          undefined,
        );
      if (a === undefined)
        throw new AccordError(
          "ERR_AGREEMENT_NOT_IN_FORCE",
          `agreement \`${r.agreementId}\` is not held by \`${this.d.nodeId}\``,
        );
      const roles = await this.rolesFor(r, a, officer, "refuse");
      return this.decide(r, claim, {
        status: "refused",
        officer,
        role: roles[0] ?? null,
        reasons,
        released: [],
      });
    });
  }

  private async decide(
    r: MatchRequestRecord,
    claim: string,
    d: {
      status: "approved" | "refused";
      officer: KnownOfficer;
      role: string | null;
      reasons: readonly string[];
      released: readonly string[];
    },
  ): Promise<RequestView> {
    const at = this.d.clock.now().toISOString();
    await this.d.store.transaction(async (tx) => {
      const ok = await tx.match.decideRequest(r.id, "incoming", {
        status: d.status,
        decidedAt: at,
        // The node's own record keeps the name (local audit); the log, the pseudonym.
        decidedBy: d.officer.name,
        decidedRole: d.role,
        reasons: d.reasons,
        released: d.released,
        claim,
      });
      if (!ok)
        throw new AccordError("ERR_BAD_REQUEST", `request \`${r.id}\` was decided meanwhile`);
      await tx.ledger.append({
        kind: "match-request-decision",
        at,
        data: {
          request: r.id,
          partner: r.partner,
          agreement: r.agreementId,
          status: d.status,
          officerPseudonym: d.officer.pseudonym,
          role: d.role,
          reasons: d.reasons.length,
          released: [...d.released],
          overdue: Date.parse(at) > Date.parse(r.dueAt),
        },
      });
    });
    const peer = await this.d.store.peers.get(r.partner);
    if (peer !== undefined)
      try {
        await this.d.transport.notifyDecision(peer, {
          accord: "match-decision/1",
          id: r.id,
          status: d.status,
          decided_at: at,
          role: d.role,
          reasons: [...d.reasons],
          released: [...d.released],
        });
      } catch (e) {
        this.d.logger.warn(
          {
            request: r.id,
            partner: r.partner,
            code: e instanceof AccordError ? e.code : "ERR_INTERNAL",
          },
          "the requester could not be told of the decision",
        );
      }
    return this.getRequest(r.id);
  }

  /** The responder's decision on a request this node filed (authenticated by the caller). */
  async receiveDecision(partner: string, raw: unknown): Promise<Record<string, unknown>> {
    const w = obj(raw, "the decision");
    const id = str(w, "id", 36, UUID);
    const status = w.status;
    if (w.accord !== "match-decision/1" || (status !== "approved" && status !== "refused"))
      throw new AccordError("ERR_MALFORMED_INPUT", "the decision is malformed");
    const r = await this.d.store.match.getRequest(id, "outgoing");
    if (r?.partner !== partner)
      throw new AccordError("ERR_NOT_FOUND", `no request \`${id}\` was filed with \`${partner}\``);
    const list = (v: unknown, what: string): string[] => {
      if (
        !Array.isArray(v) ||
        v.length > 1000 ||
        v.some((x) => typeof x !== "string" || x.length > MAX_TEXT)
      )
        throw new AccordError("ERR_MALFORMED_INPUT", `\`${what}\` is not a list of strings`);
      return v as string[];
    };
    const reasons = list(w.reasons, "reasons");
    const released = list(w.released, "released");
    const role = typeof w.role === "string" ? w.role.slice(0, 64) : null;
    const at = this.d.clock.now().toISOString();
    await this.d.store.transaction(async (tx) => {
      if (
        await tx.match.decideRequest(id, "outgoing", {
          status,
          decidedAt: at,
          decidedBy: partner,
          decidedRole: role,
          reasons,
          released,
        })
      )
        await tx.ledger.append({
          kind: "match-request-decision",
          at,
          data: {
            request: id,
            partner,
            agreement: r.agreementId,
            status,
            role,
            reasons: reasons.length,
            released,
          },
        });
    });
    return { id, status };
  }
}

class Exhausted extends Error {
  constructor(
    readonly window: "day" | "burst",
    readonly resetAt: string,
  ) {
    super("budget exhausted");
  }
}

/** A claim on a request (see `exclusively`) older than this was left by a crashed decider. */
const CLAIM_STALE_MS = 10 * 60_000;

/**
 * The burst budget (per UTC minute) of an agreement: `queries.budget_per_burst` when the document
 * names one, otherwise a quarter of the daily budget (at least 1), so a day's budget cannot be
 * spent in one minute.
 */
export function burstLimit(a: Agreement): number {
  const q = a.doc.queries;
  if (q.budget_per_burst !== undefined) return q.budget_per_burst;
  return q.budget_per_day === 0 ? 0 : Math.max(1, Math.ceil(q.budget_per_day / 4));
}

/** The PSI session context bound into the hash-to-group DST (spec/match.md §bulk). */
function psiContext(agreementId: string, kind: string, sessionId: string): string {
  return `${agreementId}/${kind}/${sessionId}`;
}

/**
 * What the ledger keeps of a request: never the identifier or the free-text justification, whose
 * keyed digest lets the node (or oversight, through it) show which legal basis was cited.
 */
function requestLog(r: MatchRequestRecord, digests: LogDigests): Record<string, unknown> {
  return {
    request: r.id,
    direction: r.direction,
    partner: r.partner,
    agreement: r.agreementId,
    query: r.queryId,
    kind: r.kind,
    purpose: r.purpose,
    legalBasisHmac: digests.text("legal-basis", r.legalBasis),
    urgency: r.urgency,
    dueAt: r.dueAt,
  };
}

/** A list of base64url 32-byte elements (attacker-controlled) as one packed array. */
function packB64(list: readonly unknown[], what: string): Uint8Array {
  const out = new Uint8Array(list.length * 32);
  list.forEach((e, i) => {
    out.set(fromB64(e, B64URL_32, `${what} ${String(i)}`), i * 32);
  });
  return out;
}

/** A packed array of 32-byte elements as a list of base64url strings. */
function unpackB64(packed: Uint8Array): string[] {
  const out: string[] = [];
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  for (let at = 0; at < b.length; at += 32) out.push(b.toString("base64url", at, at + 32));
  return out;
}
