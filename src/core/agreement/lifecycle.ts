/**
 * The agreement lifecycle (spec/agreement.md "Lifecycle"): draft -> proposed -> in force ->
 * superseded / suspended -> expired or terminated, and the consent objects that open one onward
 * hop.
 *
 * - A version is in force only when every party has signed the canonical hash (RFC 8785 JCS,
 *   SHA-256) of exactly that version with its Ed25519 node key, its effective date has come, its
 *   sunset has not, and nothing suspended or terminated it.
 * - At most one version of an agreement is in force: among the versions that would be, the
 *   highest whose effective date has come wins; the others are `superseded`.
 * - Signatures, consents and events come from partners: attacker-controlled. A signature that
 *   does not verify, or verifies under a key other than the one the party pinned (`parties[].key`)
 *   or the caller knows for that node, counts as missing and is reported as invalid; nothing here
 *   throws on a bad signature.
 *
 * Flow: signAgreement / signConsent (a party) -> verifySignatures / verifyConsent (every node)
 * -> lifecycleState (pure, per version and time) -> governed() -> decide().
 */
import type { KeyObject } from "node:crypto";
import { signJson, verifyJson } from "../../crypto/sign.js";
import { jwkThumbprint, type PublicJwk } from "../../crypto/keys.js";
import type { Agreement } from "./parse.js";

export type LifecycleStatus =
  | "draft"
  | "proposed"
  | "in-force"
  | "not-yet-effective"
  | "superseded"
  | "suspended"
  | "expired"
  | "terminated";

/** What a party signs: the hash of exactly one version, never the YAML text. */
export interface SigningPayload {
  readonly type: "accord-agreement-signature/1";
  readonly agreement: string;
  readonly version: number;
  readonly hash: string;
}

export interface AgreementSignature {
  readonly agreement: string;
  readonly version: number;
  readonly hash: string;
  readonly node: string;
  /** Detached compact JWS (src/crypto/sign.ts) over the canonical signing payload. */
  readonly jws: string;
}

/** A recorded transition that is not a signature. `by` is a party node or an oversight body name. */
export interface LifecycleEvent {
  readonly kind: "suspend" | "resume" | "suspend-party" | "resume-party" | "terminate";
  readonly agreement: string;
  /** RFC 3339; the event takes effect at that instant. */
  readonly at: string;
  readonly by: string;
  /** For suspend-party / resume-party: the party concerned. */
  readonly party?: string;
  readonly reason?: string;
}

export interface SignatureCheck {
  readonly signed: readonly string[];
  readonly missing: readonly string[];
  /** Parties whose offered signature did not verify (forged, wrong key, other version). */
  readonly invalid: readonly string[];
}

export interface AgreementState {
  readonly status: LifecycleStatus;
  readonly signatures: SignatureCheck;
  /** Parties suspended by a sanction; nothing travels to or from them under this agreement. */
  readonly suspendedParties: readonly string[];
  /** One sentence for people. */
  readonly detail: string;
}

/** An agreement together with its lifecycle state, as `decide()` takes it. */
export interface GovernedAgreement {
  readonly agreement: Agreement;
  readonly state: AgreementState;
}

export function signingPayload(a: Agreement): SigningPayload {
  return {
    type: "accord-agreement-signature/1",
    agreement: a.id,
    version: a.version,
    hash: a.hash,
  };
}

/** Sign `a` as `node` with its Ed25519 signing key. */
export async function signAgreement(
  a: Agreement,
  node: string,
  key: KeyObject,
): Promise<AgreementSignature> {
  if (!a.doc.parties.some((p) => p.node === node))
    throw new RangeError(`signAgreement: \`${node}\` is not a party to \`${a.id}\``);
  return {
    agreement: a.id,
    version: a.version,
    hash: a.hash,
    node,
    jws: await signJson(signingPayload(a), key),
  };
}

/**
 * Check the signatures offered for `a` against the parties' keys (`keys`: node -> its Ed25519
 * public JWK as this node knows it, or every key it has had: a signature made with an earlier key
 * of the party still counts after a rotation, spec/agreement.md "Keys"). Never throws on
 * attacker input.
 */
export async function verifySignatures(
  a: Agreement,
  offered: readonly AgreementSignature[],
  keys: ReadonlyMap<string, PublicJwk | readonly PublicJwk[]>,
): Promise<SignatureCheck> {
  const payload = signingPayload(a);
  const signed: string[] = [];
  const invalid: string[] = [];
  for (const party of a.doc.parties) {
    const mine = offered.filter((s) => s.node === party.node);
    if (mine.length === 0) continue;
    const known = keys.get(party.node);
    const all: readonly PublicJwk[] = known === undefined ? [] : isKeyList(known) ? known : [known];
    const candidates = all.filter(
      (jwk) => party.key === undefined || safeThumbprint(jwk) === party.key,
    );
    let ok = false;
    for (const jwk of candidates)
      for (const s of mine) {
        if (s.agreement !== a.id || s.version !== a.version || s.hash !== a.hash) continue;
        if (typeof s.jws === "string" && (await safeVerify(s.jws, payload, jwk))) ok = true;
      }
    (ok ? signed : invalid).push(party.node);
  }
  const missing = a.doc.parties.map((p) => p.node).filter((n) => !signed.includes(n));
  return { signed, missing, invalid };
}

/**
 * The state of one version at `at`, given its signature check, the recorded events for its
 * agreement, and whether a later version supersedes it by then. Pure.
 */
export function lifecycleState(
  a: Agreement,
  signatures: SignatureCheck,
  events: readonly LifecycleEvent[],
  at: Date,
  supersededBy?: Agreement,
): AgreementState {
  const t = at.getTime();
  let suspended: LifecycleEvent | undefined;
  let terminated: LifecycleEvent | undefined;
  const parties = new Set<string>();
  const authorities = new Set([
    ...a.doc.parties.map((p) => p.node),
    ...a.doc.oversight.map((o) => o.name),
    ...a.doc.oversight.flatMap((o) => (o.node === undefined ? [] : [o.node])),
  ]);
  const ordered = events
    .filter((e) => e.agreement === a.id && authorities.has(e.by))
    .map((e) => ({ e, t: Date.parse(e.at) }))
    .filter((x) => !Number.isNaN(x.t) && x.t <= t)
    // Stable: events at the same instant keep the order given (the store's durable sequence).
    .sort((x, y) => x.t - y.t);
  for (const { e } of ordered) {
    if (terminated !== undefined) break;
    if (e.kind === "terminate") terminated = e;
    else if (e.kind === "suspend") suspended = e;
    else if (e.kind === "resume") suspended = undefined;
    else if (e.party !== undefined) {
      if (e.kind === "suspend-party") parties.add(e.party);
      else parties.delete(e.party);
    }
  }
  const state = (status: LifecycleStatus, detail: string): AgreementState => ({
    status,
    signatures,
    suspendedParties: [...parties],
    detail,
  });
  if (terminated !== undefined)
    return state("terminated", `terminated by \`${terminated.by}\` on ${terminated.at}`);
  if (t >= a.sunsetMs) return state("expired", `reached its sunset on ${a.doc.sunset}`);
  if (signatures.missing.length > 0)
    return state(
      signatures.signed.length === 0 ? "draft" : "proposed",
      `not signed by ${signatures.missing.map((n) => `\`${n}\``).join(", ")}`,
    );
  if (t < a.effectiveFromMs)
    return state("not-yet-effective", `takes effect on ${a.doc.effective_from}`);
  if (supersededBy !== undefined && t >= supersededBy.effectiveFromMs)
    return state(
      "superseded",
      `superseded by v${String(supersededBy.version)} on ${supersededBy.doc.effective_from}`,
    );
  if (suspended !== undefined)
    return state("suspended", `suspended by \`${suspended.by}\` on ${suspended.at}`);
  return state("in-force", "signed by every party and in force");
}

/**
 * Govern every version of every agreement at `at`: at most one version per agreement is
 * `in-force` (the highest fully signed version whose effective date has come).
 */
export async function governAll(
  versions: readonly { agreement: Agreement; signatures: readonly AgreementSignature[] }[],
  keys: ReadonlyMap<string, PublicJwk | readonly PublicJwk[]>,
  events: readonly LifecycleEvent[],
  at: Date,
): Promise<GovernedAgreement[]> {
  const checked = await Promise.all(
    versions.map(async (v) => ({
      agreement: v.agreement,
      check: await verifySignatures(v.agreement, v.signatures, keys),
    })),
  );
  return checked.map(({ agreement, check }) => {
    const later = checked
      .filter(
        (o) =>
          o.agreement.id === agreement.id &&
          o.agreement.version > agreement.version &&
          o.check.missing.length === 0 &&
          at.getTime() >= o.agreement.effectiveFromMs,
      )
      .sort((x, y) => y.agreement.version - x.agreement.version)[0];
    return {
      agreement,
      state: lifecycleState(agreement, check, events, at, later?.agreement),
    };
  });
}

// ------------------------------------------------------------------ consent for one onward hop

/** The originator's consent to one onward hop of one object (or `*`: every object it originated). */
export interface ConsentBody {
  readonly type: "accord-consent/1";
  readonly originator: string;
  readonly object: string;
  /** The node that passes the object on. */
  readonly holder: string;
  readonly recipient: string;
  readonly agreement: string;
  readonly purpose: string;
  /** RFC 3339: the consent lapses then. */
  readonly expires: string;
}

export interface Consent extends ConsentBody {
  /** Detached JWS by the originator over the canonical body. */
  readonly jws: string;
}

export async function signConsent(body: ConsentBody, key: KeyObject): Promise<Consent> {
  return { ...body, jws: await signJson(consentBody(body), key) };
}

/** True iff `c` is signed by `originatorKey` over exactly its body. Never throws on attacker input. */
export async function verifyConsent(c: unknown, originatorKey: PublicJwk): Promise<boolean> {
  if (typeof c !== "object" || c === null) return false;
  const k = c as Partial<Consent>;
  if (k.type !== "accord-consent/1" || typeof k.jws !== "string") return false;
  return safeVerify(k.jws, consentBody(k as Consent), originatorKey);
}

function consentBody(c: ConsentBody): ConsentBody {
  return {
    type: c.type,
    originator: c.originator,
    object: c.object,
    holder: c.holder,
    recipient: c.recipient,
    agreement: c.agreement,
    purpose: c.purpose,
    expires: c.expires,
  };
}

async function safeVerify(jws: string, value: unknown, jwk: PublicJwk): Promise<boolean> {
  try {
    return await verifyJson(jws, value, jwk);
  } catch {
    return false;
  }
}

function isKeyList(k: PublicJwk | readonly PublicJwk[]): k is readonly PublicJwk[] {
  return Array.isArray(k);
}

function safeThumbprint(jwk: PublicJwk): string | undefined {
  try {
    return jwkThumbprint(jwk);
  } catch {
    return undefined;
  }
}

/**
 * For callers that govern by dates only (no signatures yet): per agreement id, the one version
 * that governs at `at` — the highest whose effective date has come, else the earliest (whose
 * denial then says when it takes effect). An amendment added before its effective date thus
 * leaves the version it amends in force until then. Keeps the input order of ids.
 */
export function versionsAt(agreements: readonly Agreement[], at: Date): Agreement[] {
  const t = at.getTime();
  const chosen = new Map<string, Agreement>();
  for (const a of agreements) {
    const held = chosen.get(a.id);
    if (held === undefined) {
      chosen.set(a.id, a);
      continue;
    }
    const aIn = a.effectiveFromMs <= t;
    const heldIn = held.effectiveFromMs <= t;
    if (aIn && (!heldIn || a.version > held.version)) chosen.set(a.id, a);
    else if (!aIn && !heldIn && a.version < held.version) chosen.set(a.id, a);
  }
  return [...chosen.values()];
}
