/**
 * The decision engine (spec/policy.md, VISION.md C4): one `decide()` for the actions `share`,
 * `accept`, `onward-share`, `use`, `query` and `release`, evaluated against agreements.
 *
 * - Default deny: with no agreement that permits, the answer is deny, with a reason saying why.
 * - Deny overrides: within an agreement, any denying clause denies the object, and every denying
 *   clause is reported, not just the first.
 * - A clause that errors (malformed markings, a subject list that is not a list) counts as not
 *   satisfied and is reported as `error` with its clause path; it never throws.
 * - A decision is a value: effect, obligations (minimization profile, retention deadline,
 *   handling code, onward rule, properties to drop) and reasons quoting clause paths
 *   ("§data.types.identity.properties").
 * - Each agreement is compiled once (sets and precomputed sentences, cached per `Agreement`
 *   object) so a decision is a handful of set look-ups: this sits in every request path.
 *
 * Agreements are given either plain (`Agreement`: in force by its dates, for callers that govern
 * signatures elsewhere) or governed (`{agreement, state}` from ./agreement/lifecycle.ts: in force
 * only when its state says so). The object, the consents and the context come from peers:
 * attacker-controlled; every read of them tolerates any JSON.
 */
import type { StixObject } from "../stix/object.js";
import { tlpOfMarkingRef, TLP_ORDER, type TlpName } from "../stix/tlp.js";
import type { Agreement } from "../agreement/parse.js";
import {
  PAP_LEVELS,
  type HandlingCode,
  type PapLevel,
  type TlpLevel,
} from "../agreement/schema.js";
import type { Consent, GovernedAgreement, LifecycleStatus } from "../agreement/lifecycle.js";

export const ACTIONS = ["share", "accept", "onward-share", "use", "query", "release"] as const;
export type Action = (typeof ACTIONS)[number];

export interface DecisionContext {
  readonly action: Action;
  /** This node. */
  readonly self: string;
  /** The recipient (share, onward-share, release), the sender (accept), the originator (use), the querier (query). */
  readonly partner: string;
  readonly purpose: string;
  readonly at: Date;
  /** Restrict the decision to one agreement (by id); otherwise every agreement given is tried. */
  readonly agreementId?: string;
  /** The node that first ingested the object; another node's object needs an onward-share. */
  readonly originator?: string;
  /** use, onward-share: the agreement and purpose the object arrived under. */
  readonly receivedUnder?: { readonly agreement: string; readonly purpose: string };
  /** onward-share, use for another purpose: the originator's consents, already verified (verifyConsent). */
  readonly consents?: readonly Consent[];
  /** onward-share: hops the object has made so far (1 after the first share). */
  readonly hops?: number;
  /** use: the retention deadline the object arrived with (RFC 3339). */
  readonly retentionUntil?: string;
  /** query: hit/no-hit queries the partner already made today under the agreement. */
  readonly queriesToday?: number;
  /** release: the roles that approved the release. */
  readonly approvedBy?: readonly string[];
}

export interface Reason {
  /** What this clause did: permitted, denied, required a property to be dropped, or failed to evaluate. */
  readonly effect: "permit" | "deny" | "drop" | "error";
  /** `regional-cyber-accord v1 §data.types.identity.properties`, or `default` for default deny. */
  readonly clause: string;
  /** One sentence quoting the agreement, for people. */
  readonly message: string;
}

export interface Handling {
  readonly code: HandlingCode;
  readonly judicialUse: "permitted" | "with-permission" | "prohibited";
  readonly dissemination: "permitted" | "with-permission" | "prohibited";
  readonly conditions: readonly string[];
}

export interface Obligations {
  /** Top-level properties that must be removed before the object travels. */
  readonly dropProperties: readonly string[];
  /** RFC 3339: the recipient must purge the object by then. */
  readonly retentionUntil: string;
  /** Whether the agreement allows onward hops at all (each still needs consent). */
  readonly onwardSharing: boolean;
  /** `prohibited`, or `consent-per-hop` (the originator's signed consent for each hop). */
  readonly onwardRule: "prohibited" | "consent-per-hop";
  /** The minimization profile the object must pass through. */
  readonly profile: string;
  readonly handling: Handling;
}

export interface AgreementRef {
  readonly id: string;
  readonly version: number;
  readonly hash: string;
}

export type Decision =
  | {
      readonly effect: "permit";
      readonly agreement: AgreementRef;
      readonly obligations: Obligations;
      readonly reasons: readonly Reason[];
    }
  | { readonly effect: "deny"; readonly reasons: readonly Reason[] };

/** Properties every STIX object carries; they always travel with the object. */
export const ALWAYS_PERMITTED: ReadonlySet<string> = new Set([
  "type",
  "spec_version",
  "id",
  "created",
  "modified",
]);

/** The custom property naming an object's data-subject categories (slugs). */
export const SUBJECTS_PROPERTY = "x_accord_subjects";
/** The custom property carrying an object's PAP level. */
export const PAP_PROPERTY = "x_accord_pap";

const PAP_ORDER: Readonly<Record<PapLevel, number>> = { clear: 0, green: 1, amber: 2, red: 3 };
const DAY_MS = 86_400_000;

// ------------------------------------------------------------------ compilation

interface CompiledType {
  readonly name: string;
  readonly allowed: ReadonlySet<string>;
  /** `allowed` with the properties every object carries: what travels, in one look-up. */
  readonly travels: ReadonlySet<string>;
  /** The drop reason per refused property, built once (bounded; frozen reasons). */
  readonly dropReasons: Map<string, Reason>;
  readonly retentionMs: number;
  readonly propertyPath: string;
  readonly propertyClause: string;
  readonly typeClause: string;
}

/** One agreement compiled for evaluation. */
export interface CompiledAgreement {
  readonly source: Agreement;
  readonly ref: AgreementRef;
  readonly label: string;
  readonly prefix: string;
  readonly parties: ReadonlySet<string>;
  readonly permitted: ReadonlySet<string>;
  readonly prohibited: ReadonlySet<string>;
  readonly types: ReadonlyMap<string, CompiledType>;
  readonly phaseName: string | undefined;
  readonly phaseTypes: ReadonlySet<string> | undefined;
  readonly never: ReadonlySet<string>;
  readonly subjectsPermitted: ReadonlySet<string> | undefined;
  readonly ceiling: number;
  readonly ceilingName: string;
  readonly unmarked: TlpName;
  readonly pap: number;
  readonly queryTypes: ReadonlySet<string>;
  readonly budget: number;
  readonly release: "never" | "on-approval" | "automatic";
  readonly releaseRoles: ReadonlySet<string>;
  readonly onwardAllowed: boolean;
  readonly maxHops: number;
  readonly judicialUse: Handling["judicialUse"];
  readonly defaultRetentionMs: number;
  /** Shared denials that depend on one name only (a non-party, a purpose); bounded. */
  readonly denials: Map<string, Map<string, Decision>>;
  readonly base: Omit<Obligations, "dropProperties" | "retentionUntil">;
}

const compiled = new WeakMap<Agreement, CompiledAgreement>();

const LEVEL: Record<TlpLevel, TlpName> = {
  clear: "clear",
  green: "green",
  amber: "amber",
  "amber+strict": "amber+strict",
  red: "red",
};

/** Compile `a` once; later calls return the same evaluator. */
export function compileAgreement(a: Agreement): CompiledAgreement {
  const hit = compiled.get(a);
  if (hit !== undefined) return hit;
  const d = a.doc;
  const prefix = `${a.id} v${String(a.version)} §`;
  const types = new Map<string, CompiledType>();
  for (const [name, rule] of Object.entries(d.data.types)) {
    const propertyPath = `data.types.${name}.properties`;
    types.set(name, {
      name,
      allowed: new Set(rule.properties),
      travels: new Set([...ALWAYS_PERMITTED, ...rule.properties]),
      dropReasons: new Map(),
      retentionMs: (rule.retention_days ?? d.retention.default_days) * DAY_MS,
      propertyPath,
      propertyClause: prefix + propertyPath,
      typeClause: `${prefix}data.types.${name}`,
    });
  }
  const phase = d.phase;
  const c: CompiledAgreement = Object.freeze({
    source: a,
    ref: Object.freeze({ id: a.id, version: a.version, hash: a.hash }),
    label: `\`${a.id}\` v${String(a.version)}`,
    prefix,
    parties: new Set(d.parties.map((p) => p.node)),
    permitted: new Set<string>(d.purposes.permitted),
    prohibited: new Set<string>(d.purposes.prohibited),
    types,
    phaseName: phase?.current,
    phaseTypes: phase === undefined ? undefined : new Set(phase.phases[phase.current]?.types ?? []),
    never: new Set(d.data.subjects.never),
    subjectsPermitted:
      d.data.subjects.permitted === undefined ? undefined : new Set(d.data.subjects.permitted),
    ceiling: TLP_ORDER[LEVEL[d.markings.tlp_ceiling]],
    ceilingName: d.markings.tlp_ceiling.toUpperCase(),
    unmarked: LEVEL[d.markings.unmarked_as],
    pap: PAP_ORDER[d.markings.pap_ceiling],
    queryTypes: new Set(d.queries.types),
    budget: d.queries.budget_per_day,
    release: d.queries.release,
    releaseRoles: new Set(d.decision_rights.release),
    onwardAllowed: d.onward_sharing.allowed,
    maxHops: d.onward_sharing.max_hops,
    judicialUse: d.handling.judicial_use,
    defaultRetentionMs: d.retention.default_days * DAY_MS,
    denials: new Map<string, Map<string, Decision>>(),
    base: Object.freeze({
      onwardSharing: d.onward_sharing.allowed,
      onwardRule: d.onward_sharing.allowed ? ("consent-per-hop" as const) : ("prohibited" as const),
      profile: d.minimization.profile,
      handling: Object.freeze({
        code: d.handling.code,
        judicialUse: d.handling.judicial_use,
        dissemination: d.handling.dissemination,
        conditions: d.handling.conditions,
      }),
    }),
  });
  compiled.set(a, c);
  return c;
}

// ------------------------------------------------------------------ decide

/**
 * The context with every member present, in one fixed shape: callers build contexts of many
 * shapes, and one shape keeps every read below monomorphic.
 */
type OptionalKeys = {
  [K in keyof DecisionContext]-?: object extends Pick<DecisionContext, K> ? K : never;
}[keyof DecisionContext];
type Norm = Required<Omit<DecisionContext, OptionalKeys>> & {
  readonly [K in OptionalKeys]: DecisionContext[K] | undefined;
} & {
  readonly at: Date;
  readonly t: number;
};

function normalize(ctx: DecisionContext): Norm {
  return {
    action: ctx.action,
    self: ctx.self,
    partner: ctx.partner,
    purpose: ctx.purpose,
    at: ctx.at,
    t: ctx.at.getTime(),
    agreementId: ctx.agreementId,
    originator: ctx.originator,
    receivedUnder: ctx.receivedUnder,
    consents: ctx.consents,
    hops: ctx.hops,
    retentionUntil: ctx.retentionUntil,
    queriesToday: ctx.queriesToday,
    approvedBy: ctx.approvedBy,
  };
}

interface Entry {
  readonly src: Agreement | GovernedAgreement;
  readonly c: CompiledAgreement;
  readonly state: GovernedAgreement["state"] | undefined;
}

/**
 * The static part of every agreement's answer for one (self, partner, purpose): whether the
 * parties and purpose clauses pass, and the shared denial when they do not. It depends on names
 * only, so it is built once per triple and reused by every decision with that triple.
 */
interface Gate {
  /** Indices of the entries whose parties and purpose clauses pass. */
  readonly candidates: readonly number[];
  /** Per entry: its parties or purpose denial (frozen), undefined for a candidate. */
  readonly denials: readonly (Decision | undefined)[];
  /** When there is no candidate: the whole answer, every denial in agreement order (frozen). */
  readonly allDenied: Decision | undefined;
  /**
   * The static denials' reasons before the first candidate, between candidates and after the
   * last (candidates + 1 runs, frozen): a denial with candidates concatenates them in order.
   */
  readonly runs: readonly (readonly Reason[])[];
  /** The permit reason per candidate type, built on first use (the triple fixes its words). */
  readonly permitReasons: Map<CompiledType, Reason>;
}

/**
 * One agreement list, compiled: its entries, an index by id, and the gates built so far. Callers
 * pass the same list for many decisions, so this is cached per list.
 */
interface ListIndex {
  readonly entries: readonly Entry[];
  readonly byId: ReadonlyMap<string, readonly Entry[]>;
  /**
   * [from, until): the instants at which every entry is in force by its state and dates and no
   * party is suspended. Inside it, lifecycle cannot deny and the gates decide parties and purpose.
   */
  readonly liveFrom: number;
  readonly liveUntil: number;
  readonly gates: Map<string, Map<string, Map<string, Gate>>>;
  gateCount: number;
}

/** Compiled indices per agreement list. */
const lists = new WeakMap<readonly (Agreement | GovernedAgreement)[], ListIndex>();

function indexOf(agreements: readonly (Agreement | GovernedAgreement)[]): ListIndex {
  const cached = lists.get(agreements);
  // The list is readonly by type; check its members anyway, by identity (cheap).
  if (cached?.entries.length === agreements.length) {
    const es = cached.entries;
    let same = true;
    for (let i = 0; i < es.length && same; i++) same = es[i]?.src === agreements[i];
    if (same) return cached;
  }
  const entries = agreements.map((e) =>
    "state" in e
      ? { src: e, c: compileAgreement(e.agreement), state: e.state }
      : { src: e, c: compileAgreement(e), state: undefined },
  );
  const byId = new Map<string, Entry[]>();
  let liveFrom = -Infinity;
  let liveUntil = Infinity;
  for (const e of entries) {
    const list = byId.get(e.c.ref.id);
    if (list === undefined) byId.set(e.c.ref.id, [e]);
    else list.push(e);
    const s = e.state;
    if (s !== undefined && (s.status !== "in-force" || s.suspendedParties.length > 0))
      liveUntil = -Infinity;
    liveFrom = Math.max(liveFrom, e.c.source.effectiveFromMs);
    liveUntil = Math.min(liveUntil, e.c.source.sunsetMs);
  }
  const index: ListIndex = { entries, byId, liveFrom, liveUntil, gates: new Map(), gateCount: 0 };
  lists.set(agreements, index);
  return index;
}

/** The static denial of `c` for (self, partner, purpose), in the order evaluate() checks them. */
function staticDenial(
  c: CompiledAgreement,
  self: string,
  partner: string,
  purpose: string,
): Decision | undefined {
  if (!c.parties.has(self)) return cachedDeny(c, "parties", self, "is not a party");
  if (!c.parties.has(partner)) return cachedDeny(c, "parties", partner, "is not a party");
  if (c.prohibited.has(purpose))
    return cachedDeny(c, "purposes.prohibited", purpose, "is prohibited", "purpose ");
  if (!c.permitted.has(purpose))
    return cachedDeny(c, "purposes.permitted", purpose, "is not permitted", "purpose ");
  return undefined;
}

function buildGate(index: ListIndex, self: string, partner: string, purpose: string): Gate {
  const candidates: number[] = [];
  const denials: (Decision | undefined)[] = [];
  const reasons: Reason[] = [];
  const runs: Reason[][] = [[]];
  index.entries.forEach((e, i) => {
    const d = staticDenial(e.c, self, partner, purpose);
    denials.push(d);
    if (d === undefined) {
      candidates.push(i);
      runs.push([]);
    } else
      for (const r of d.reasons) {
        reasons.push(r);
        runs[runs.length - 1]?.push(r);
      }
  });
  let allDenied: Decision | undefined;
  if (candidates.length === 0) {
    allDenied = denials.length === 1 ? denials[0] : { effect: "deny", reasons };
    if (allDenied !== undefined) deepFreezeDecision(allDenied);
  }
  for (const r of runs) Object.freeze(r);
  return Object.freeze({
    candidates: Object.freeze(candidates),
    denials: Object.freeze(denials),
    allDenied,
    runs: Object.freeze(runs),
    permitReasons: new Map(),
  });
}

/** The gate for a triple, from the bounded memo (names come from peers: the memo is capped). */
function gateOf(index: ListIndex, self: string, partner: string, purpose: string): Gate {
  let bySelf = index.gates.get(self);
  let byPartner = bySelf?.get(partner);
  const hit = byPartner?.get(purpose);
  if (hit !== undefined) return hit;
  const gate = buildGate(index, self, partner, purpose);
  if (index.gateCount >= MAX_GATES) return gate;
  if (bySelf === undefined) index.gates.set(self, (bySelf = new Map<string, Map<string, Gate>>()));
  if (byPartner === undefined) bySelf.set(partner, (byPartner = new Map<string, Gate>()));
  byPartner.set(purpose, gate);
  index.gateCount++;
  return gate;
}

const MAX_GATES = 4096;

export function decide(
  object: StixObject,
  ctx: DecisionContext,
  agreements: readonly (Agreement | GovernedAgreement)[],
): Decision {
  const index = indexOf(agreements);
  const q = normalize(ctx);
  const only = q.agreementId;
  if (only !== undefined) {
    const held = index.byId.get(only);
    if (held === undefined) return notHeld(ctx);
    return held.length === 1 && held[0] !== undefined
      ? evaluateEntry(object, q, held[0])
      : combine(object, q, held);
  }
  if (index.entries.length === 0) return notHeld(ctx);
  const t = q.t;
  if (!(t >= index.liveFrom && t < index.liveUntil)) return combine(object, q, index.entries);

  // Every agreement is live at t: parties and purpose are settled by the gate, so only the
  // candidates are evaluated further, and an answer with no candidate is shared as it is.
  const gate = gateOf(index, q.self, q.partner, q.purpose);
  if (gate.allDenied !== undefined) return gate.allDenied;
  const cs = gate.candidates;
  const runs = gate.runs;
  let reasons: Reason[] | undefined;
  for (let k = 0; k < cs.length; k++) {
    const e = index.entries[cs[k] ?? 0];
    if (e === undefined) continue;
    const d = byAction(object, q, e.c, gate);
    if (d.effect === "permit") return d;
    if (index.entries.length === 1) return d;
    // Denied: its reasons join the static ones in agreement order (the next run follows it).
    reasons ??= pushAll([], runs[0]);
    pushAll(pushAll(reasons, d.reasons), runs[k + 1]);
  }
  return { effect: "deny", reasons: reasons ?? [] };
}

function pushAll(to: Reason[], from: readonly Reason[] | undefined): Reason[] {
  if (from !== undefined) for (const r of from) to.push(r);
  return to;
}

/** Every entry evaluated in full, in order: the first permit, else every denial. */
function combine(object: StixObject, q: Norm, entries: readonly Entry[]): Decision {
  let denials: Reason[] | undefined;
  let only: Decision | undefined;
  let tried = 0;
  for (const e of entries) {
    tried++;
    const d = evaluateEntry(object, q, e);
    if (d.effect === "permit") return d;
    if (tried === 1) only = d;
    else {
      if (denials === undefined) {
        denials = [];
        if (only !== undefined) for (const r of only.reasons) denials.push(r);
      }
      for (const r of d.reasons) denials.push(r);
    }
  }
  if (tried === 1 && only !== undefined) return only;
  return { effect: "deny", reasons: denials ?? [] };
}

function notHeld(ctx: DecisionContext): Decision {
  const which =
    ctx.agreementId === undefined
      ? "no agreement is held"
      : `agreement \`${ctx.agreementId}\` is not held`;
  return {
    effect: "deny",
    reasons: [
      {
        effect: "deny",
        clause: "default",
        message: `denied by default: ${which} by \`${ctx.self}\``,
      },
    ],
  };
}

function evaluateEntry(object: StixObject, q: Norm, e: Entry): Decision {
  return evaluate(object, q, e.c, e.state?.status, e.state);
}

/** Evaluate one agreement. */
function evaluate(
  object: StixObject,
  ctx: Norm,
  c: CompiledAgreement,
  status?: LifecycleStatus,
  state?: { readonly detail: string; readonly suspendedParties: readonly string[] },
): Decision {
  const a = c.source;
  const t = ctx.t;

  // 1. Lifecycle: governed agreements by their state, plain ones by their dates.
  if (status !== undefined && status !== "in-force") {
    const path =
      status === "draft" || status === "proposed"
        ? "parties"
        : status === "expired"
          ? "sunset"
          : status === "not-yet-effective"
            ? "effective_from"
            : "lifecycle";
    return denyOne(c, path, `the agreement is ${status}: ${state?.detail ?? status}`);
  }
  if (t < a.effectiveFromMs)
    return denyOne(c, "effective_from", `the agreement takes effect on ${a.doc.effective_from}`);
  if (t >= a.sunsetMs)
    return denyOne(c, "sunset", `the agreement reached its sunset on ${a.doc.sunset}`);

  // 2. Parties, and sanctions on them.
  if (!c.parties.has(ctx.self)) return cachedDeny(c, "parties", ctx.self, "is not a party");
  if (!c.parties.has(ctx.partner)) return cachedDeny(c, "parties", ctx.partner, "is not a party");
  if (state !== undefined && state.suspendedParties.length > 0) {
    for (const n of [ctx.self, ctx.partner])
      if (state.suspendedParties.includes(n))
        return denyOne(c, "lifecycle", `party \`${n}\` is suspended`);
  }

  // 3. Purpose.
  if (c.prohibited.has(ctx.purpose))
    return cachedDeny(c, "purposes.prohibited", ctx.purpose, "is prohibited", "purpose ");
  if (!c.permitted.has(ctx.purpose))
    return cachedDeny(c, "purposes.permitted", ctx.purpose, "is not permitted", "purpose ");

  return byAction(object, ctx, c);
}

/** The clauses of the action, once lifecycle, parties and purpose have passed. */
function byAction(object: StixObject, ctx: Norm, c: CompiledAgreement, gate?: Gate): Decision {
  switch (ctx.action) {
    case "query":
      return query(object, ctx, c);
    case "use":
      return use(object, ctx, c);
    case "release":
      if (c.release === "never")
        return denyOne(c, "queries.release", "nothing is released after a hit");
      if (c.release === "on-approval" && !approved(ctx, c))
        return denyOne(
          c,
          "decision_rights.release",
          `a release needs the approval of ${c.releaseRoles.size === 0 ? "a role the agreement does not name" : [...c.releaseRoles].map((r) => `\`${r}\``).join(" or ")}`,
        );
      return transfer(object, ctx, c, gate);
    case "onward-share":
      return releaseOnly(object, c) ?? onward(object, ctx, c) ?? transfer(object, ctx, c, gate);
    case "share":
      {
        const held = releaseOnly(object, c);
        if (held !== undefined) return held;
      }
      if (ctx.originator !== undefined && ctx.originator !== ctx.self)
        return onward(object, ctx, c) ?? transfer(object, ctx, c, gate);
      return transfer(object, ctx, c, gate);
    case "accept":
      return transfer(object, ctx, c, gate);
    default:
      return denyOne(c, "(action)", `action \`${String(ctx.action)}\` is not one the engine knows`);
  }
}

/**
 * A type the agreement puts under hit/no-hit queries with release on approval (or never) travels
 * only as a release after a hit: a plain share or onward hop of it would bypass the approval.
 */
function releaseOnly(object: StixObject, c: CompiledAgreement): Decision | undefined {
  if (c.release === "automatic" || !c.queryTypes.has(object.type)) return undefined;
  return denyOne(
    c,
    "queries.release",
    c.release === "never"
      ? `type \`${object.type}\` is queried hit/no-hit only and is never released`
      : `type \`${object.type}\` travels only as a release approved after a hit, not as a share`,
  );
}

function denyOne(c: CompiledAgreement, path: string, message: string): Decision {
  return { effect: "deny", reasons: [reason("deny", c, path, message)] };
}

const MAX_CACHED = 512;

/** Denials that depend only on the agreement and one name: built once, shared (frozen). */
function cachedDeny(
  c: CompiledAgreement,
  path: string,
  name: string,
  what: string,
  noun = "",
): Decision {
  let byName = c.denials.get(path);
  if (byName === undefined) c.denials.set(path, (byName = new Map<string, Decision>()));
  let d = byName.get(name);
  if (d === undefined) {
    d = denyOne(c, path, `${noun}\`${name}\` ${what}`);
    deepFreezeDecision(d);
    if (byName.size < MAX_CACHED) byName.set(name, d);
  }
  return d;
}

function deepFreezeDecision(d: Decision): void {
  for (const r of d.reasons) Object.freeze(r);
  Object.freeze(d.reasons);
  Object.freeze(d);
}

function reason(
  effect: Reason["effect"],
  c: CompiledAgreement,
  path: string,
  message: string,
): Reason {
  const verb =
    effect === "error"
      ? "not satisfied"
      : effect === "drop"
        ? "refused"
        : effect === "permit"
          ? "permitted"
          : "denied";
  return {
    effect,
    clause: c.prefix + path,
    message: `${verb}: ${message} under ${c.label} §${path}`,
  };
}

function approved(ctx: Norm, c: CompiledAgreement): boolean {
  const by = ctx.approvedBy;
  if (!Array.isArray(by)) return false;
  for (const r of by) if (typeof r === "string" && c.releaseRoles.has(r)) return true;
  return false;
}

/** The onward-hop checks; undefined when they pass. */
function onward(object: StixObject, ctx: Norm, c: CompiledAgreement): Decision | undefined {
  const originator = ctx.originator;
  if (originator === undefined || originator === ctx.self)
    return denyOne(
      c,
      "onward_sharing",
      `\`${object.id}\` has no other originator to consent to an onward hop`,
    );
  if (!c.onwardAllowed)
    return denyOne(
      c,
      "onward_sharing",
      `\`${object.id}\` came from \`${originator}\` and onward sharing is not allowed`,
    );
  const hops = ctx.hops ?? 1;
  if (hops >= c.maxHops + 1)
    return denyOne(
      c,
      "onward_sharing.max_hops",
      `\`${object.id}\` has made ${String(hops)} hops already`,
    );
  if (!hasConsent(object, ctx, c, ctx.partner, ctx.purpose))
    return denyOne(
      c,
      "onward_sharing",
      `\`${object.id}\` came from \`${originator}\` and onward sharing needs the originator's consent`,
    );
  return undefined;
}

function hasConsent(
  object: StixObject,
  ctx: Norm,
  c: CompiledAgreement,
  recipient: string,
  purpose: string,
): boolean {
  const consents = ctx.consents;
  if (!Array.isArray(consents)) return false;
  const t = ctx.t;
  for (const k of consents as readonly unknown[]) {
    if (!isConsentLike(k)) continue;
    if (
      k.originator === ctx.originator &&
      k.holder === ctx.self &&
      k.recipient === recipient &&
      k.agreement === c.ref.id &&
      k.purpose === purpose &&
      (k.object === object.id || k.object === "*") &&
      typeof k.expires === "string" &&
      Date.parse(k.expires) > t
    )
      return true;
  }
  return false;
}

function isConsentLike(k: unknown): k is Consent {
  return typeof k === "object" && k !== null && !Array.isArray(k);
}

function query(object: StixObject, ctx: Norm, c: CompiledAgreement): Decision {
  const reasons: Reason[] = [];
  if (!c.queryTypes.has(object.type))
    reasons.push(reason("deny", c, "queries.types", `type \`${object.type}\` may not be matched`));
  const used = ctx.queriesToday ?? 0;
  if (typeof used !== "number" || !(used < c.budget))
    reasons.push(
      reason(
        "deny",
        c,
        "queries.budget_per_day",
        `\`${ctx.partner}\` has used ${String(used)} of ${String(c.budget)} hit/no-hit queries today`,
      ),
    );
  if (reasons.length > 0) return { effect: "deny", reasons };
  reasons.push(
    reason(
      "permit",
      c,
      "queries.types",
      `a hit/no-hit query on \`${object.type}\` by \`${ctx.partner}\` for purpose \`${ctx.purpose}\``,
    ),
  );
  return permit(c, ctx, [], c.types.get(object.type)?.retentionMs ?? c.defaultRetentionMs, reasons);
}

function use(object: StixObject, ctx: Norm, c: CompiledAgreement): Decision {
  const reasons: Reason[] = [];
  const under = ctx.receivedUnder;
  if (under?.agreement !== c.ref.id)
    return {
      effect: "deny",
      reasons: [
        reason("deny", c, "purposes", `\`${object.id}\` did not arrive under this agreement`),
      ],
    };
  if (under.purpose !== ctx.purpose) {
    // Purpose binding: received for A is not usable for B without the originator's consent.
    const consented = hasConsent(object, ctx, c, ctx.self, ctx.purpose);
    if (!consented)
      reasons.push(
        reason(
          "deny",
          c,
          "purposes.permitted",
          `\`${object.id}\` was received for \`${under.purpose}\` and cannot be used for \`${ctx.purpose}\` without the originator's consent`,
        ),
      );
  }
  if (ctx.purpose === "judicial-proceedings" && c.judicialUse === "prohibited")
    reasons.push(
      reason("deny", c, "handling.judicial_use", "use in judicial proceedings is prohibited"),
    );
  if (ctx.retentionUntil !== undefined) {
    const until = Date.parse(ctx.retentionUntil);
    if (Number.isNaN(until) || until <= ctx.t)
      reasons.push(
        reason(
          "deny",
          c,
          "retention",
          `\`${object.id}\` was due for deletion on ${ctx.retentionUntil}`,
        ),
      );
  }
  if (reasons.length > 0) return { effect: "deny", reasons };
  return permit(c, ctx, [], c.types.get(object.type)?.retentionMs ?? c.defaultRetentionMs, [
    reason("permit", c, "purposes.permitted", `use of \`${object.id}\` for \`${ctx.purpose}\``),
  ]);
}

/** share, accept, release and onward-share: what may cross the border, and with what removed. */
function transfer(object: StixObject, ctx: Norm, c: CompiledAgreement, gate?: Gate): Decision {
  let denials: Reason[] | undefined;
  const type = c.types.get(object.type);
  if (type === undefined)
    (denials ??= []).push(
      reason("deny", c, "data.types", `type \`${object.type}\` is not permitted`),
    );
  else if (c.phaseTypes !== undefined && !c.phaseTypes.has(object.type))
    (denials ??= []).push(
      reason(
        "deny",
        c,
        `phase.phases.${c.phaseName ?? ""}.types`,
        `type \`${object.type}\` is not permitted in phase \`${c.phaseName ?? ""}\``,
      ),
    );

  // Markings: the object-level TLP against the ceiling.
  let level: TlpName | undefined;
  let drop: string[] | undefined;
  let dropReasons: Reason[] | undefined;
  try {
    const refs = object.object_marking_refs;
    if (refs !== undefined) {
      if (!Array.isArray(refs)) throw new Error("`object_marking_refs` is not a list");
      for (const r of refs) {
        if (typeof r !== "string") throw new Error("a marking reference is not a string");
        const l = tlpOfMarkingRef(r);
        if (l !== undefined && (level === undefined || TLP_ORDER[l] > TLP_ORDER[level])) level = l;
      }
    }
    const effective = level ?? c.unmarked;
    if (TLP_ORDER[effective] > c.ceiling) {
      const how =
        level === undefined
          ? `unmarked (taken as TLP:${effective.toUpperCase()})`
          : `marked TLP:${effective.toUpperCase()}`;
      (denials ??= []).push(
        reason(
          "deny",
          c,
          "markings.tlp_ceiling",
          `\`${object.id}\` is ${how}, above the ceiling TLP:${c.ceilingName}`,
        ),
      );
    }
  } catch (e) {
    (denials ??= []).push(reason("error", c, "markings.tlp_ceiling", errorText(e)));
  }

  // Granular markings above the ceiling: that part stays home (or the object, if it cannot).
  const granular = object.granular_markings;
  if (granular !== undefined) {
    try {
      if (!Array.isArray(granular)) throw new Error("`granular_markings` is not a list");
      for (const g of granular) {
        if (typeof g !== "object" || g === null || Array.isArray(g))
          throw new Error("a granular marking is not an object");
        const ref = g.marking_ref;
        const l = typeof ref === "string" ? tlpOfMarkingRef(ref) : undefined;
        if (l === undefined || TLP_ORDER[l] <= c.ceiling) continue;
        const selectors = g.selectors;
        if (!Array.isArray(selectors)) throw new Error("granular marking selectors are not a list");
        for (const s of selectors) {
          if (typeof s !== "string") throw new Error("a granular marking selector is not a string");
          const top = s.split(".", 1)[0] ?? s;
          if (ALWAYS_PERMITTED.has(top) || ctx.action === "accept") {
            (denials ??= []).push(
              reason(
                "deny",
                c,
                "markings.tlp_ceiling",
                `\`${s}\` of \`${object.id}\` is marked TLP:${l.toUpperCase()}, above the ceiling TLP:${c.ceilingName}`,
              ),
            );
          } else if (!(drop ??= []).includes(top)) {
            drop.push(top);
            (dropReasons ??= []).push(
              reason(
                "drop",
                c,
                "markings.tlp_ceiling",
                `property \`${top}\` of \`${object.id}\` is marked TLP:${l.toUpperCase()}, above the ceiling TLP:${c.ceilingName}`,
              ),
            );
          }
        }
      }
    } catch (e) {
      (denials ??= []).push(reason("error", c, "markings.tlp_ceiling", errorText(e)));
    }
  }

  // PAP: the recipient must have committed to honour the object's PAP level.
  const pap = object[PAP_PROPERTY];
  if (pap !== undefined) {
    const order = typeof pap === "string" ? PAP_ORDER[pap as PapLevel] : undefined;
    if (order === undefined || !(PAP_LEVELS as readonly unknown[]).includes(pap))
      (denials ??= []).push(
        reason("error", c, "markings.pap_ceiling", `\`${PAP_PROPERTY}\` is not a PAP level`),
      );
    else if (order > c.pap)
      (denials ??= []).push(
        reason(
          "deny",
          c,
          "markings.pap_ceiling",
          `\`${object.id}\` is marked PAP:${(pap as string).toUpperCase()}, above the ceiling PAP:${c.source.doc.markings.pap_ceiling.toUpperCase()}`,
        ),
      );
  }

  // Data subjects: sensitive categories never travel; a permitted list is an allowlist.
  const subjects = object[SUBJECTS_PROPERTY];
  if (subjects !== undefined) {
    try {
      if (!Array.isArray(subjects)) throw new Error(`\`${SUBJECTS_PROPERTY}\` is not a list`);
      for (const s of subjects) {
        if (typeof s !== "string") throw new Error("a data-subject category is not a string");
        if (c.never.has(s))
          (denials ??= []).push(
            reason(
              "deny",
              c,
              "data.subjects.never",
              `data subjects of category \`${s}\` never travel`,
            ),
          );
        else if (c.subjectsPermitted !== undefined && !c.subjectsPermitted.has(s))
          (denials ??= []).push(
            reason(
              "deny",
              c,
              "data.subjects.permitted",
              `data subjects of category \`${s}\` are not permitted`,
            ),
          );
      }
    } catch (e) {
      (denials ??= []).push(reason("error", c, "data.subjects", errorText(e)));
    }
  }
  if (denials !== undefined || type === undefined)
    return { effect: "deny", reasons: denials ?? [] };

  // Properties outside the allowlist: dropped on the way out, refused on the way in.
  const travels = type.travels;
  for (const p in object) {
    if (travels.has(p)) continue;
    if (ctx.action === "accept")
      return {
        effect: "deny",
        reasons: [
          reason(
            "deny",
            c,
            type.propertyPath,
            `property \`${p}\` is not permitted for \`${object.type}\``,
          ),
        ],
      };
    if (drop?.includes(p) === true) continue;
    (drop ??= []).push(p);
    (dropReasons ??= []).push(dropReason(c, type, p));
  }
  const permitReason = transferPermitReason(ctx, c, type, gate);
  return permit(
    c,
    ctx,
    drop ?? EMPTY,
    type.retentionMs,
    dropReasons === undefined ? [permitReason] : [permitReason, ...dropReasons],
  );
}

/** Why `p` is dropped: the same words for every object of the type, so built once. */
function dropReason(c: CompiledAgreement, type: CompiledType, p: string): Reason {
  let r = type.dropReasons.get(p);
  if (r === undefined) {
    r = Object.freeze({
      effect: "drop" as const,
      clause: type.propertyClause,
      message: `refused: property \`${p}\` is not permitted for \`${type.name}\` under ${c.label} §${type.propertyPath}`,
    });
    if (type.dropReasons.size < MAX_CACHED) type.dropReasons.set(p, r);
  }
  return r;
}

/** The permit reason of a transfer; shared through the gate, whose triple fixes its words. */
function transferPermitReason(
  ctx: Norm,
  c: CompiledAgreement,
  type: CompiledType,
  gate: Gate | undefined,
): Reason {
  let r = gate?.permitReasons.get(type);
  if (r === undefined) {
    r = Object.freeze({
      effect: "permit" as const,
      clause: type.typeClause,
      message: `permitted: \`${type.name}\` for purpose \`${ctx.purpose}\` between \`${ctx.self}\` and \`${ctx.partner}\` under ${c.label} §data.types.${type.name}`,
    });
    gate?.permitReasons.set(type, r);
  }
  return r;
}

const EMPTY: readonly string[] = Object.freeze([]);
/** Deadlines for the last `at` seen, by retention: decisions in one request share `at`. */
let retentionAt = NaN;
const retentionIso = new Map<number, string>();

function permit(
  c: CompiledAgreement,
  ctx: Norm,
  drop: readonly string[],
  retentionMs: number,
  reasons: readonly Reason[],
): Decision {
  const at = ctx.t;
  if (at !== retentionAt) {
    retentionAt = at;
    retentionIso.clear();
  }
  let iso = retentionIso.get(retentionMs);
  if (iso === undefined) {
    iso = new Date(at + retentionMs).toISOString();
    if (retentionIso.size < MAX_CACHED) retentionIso.set(retentionMs, iso);
  }
  return {
    effect: "permit",
    agreement: c.ref,
    obligations: {
      dropProperties: drop,
      retentionUntil: iso,
      onwardSharing: c.base.onwardSharing,
      onwardRule: c.base.onwardRule,
      profile: c.base.profile,
      handling: c.base.handling,
    },
    reasons,
  };
}

function errorText(e: unknown): string {
  return `the clause could not be evaluated (${e instanceof Error ? e.message : "error"})`;
}

/** Apply a permit's obligations: a new object without the dropped properties. */
export function applyObligations(object: StixObject, obligations: Obligations): StixObject {
  if (obligations.dropProperties.length === 0) return object;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object))
    if (!obligations.dropProperties.includes(k)) out[k] = v;
  return out as StixObject;
}

// ------------------------------------------------------------------ dry run

export interface ExplainEntry {
  readonly partner: string;
  readonly agreement: AgreementRef;
  readonly decision: Decision;
}

/**
 * Who would receive `object`, under which clause, with which obligations: every partner of every
 * agreement given, one decision each. Writes nothing.
 */
export function explainRecipients(
  object: StixObject,
  ctx: Omit<DecisionContext, "partner" | "agreementId">,
  agreements: readonly (Agreement | GovernedAgreement)[],
): ExplainEntry[] {
  const out: ExplainEntry[] = [];
  for (const entry of agreements) {
    const a = "state" in entry ? entry.agreement : entry;
    for (const p of a.doc.parties) {
      if (p.node === ctx.self) continue;
      out.push({
        partner: p.node,
        agreement: compileAgreement(a).ref,
        decision: decide(object, { ...ctx, partner: p.node, agreementId: a.id }, [entry]),
      });
    }
  }
  return out;
}
