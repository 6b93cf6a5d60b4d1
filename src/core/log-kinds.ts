/**
 * The registry of log entry kinds (spec/log.md, "Kinds"): for every kind the node writes, the
 * version of its `data` schema and the schema itself. Both storage adapters check every entry
 * here before it is written (`checkLogEntry`), so an unknown kind, a missing or misspelt field, a
 * field of the wrong type or any field the schema does not name is refused with an error naming the
 * kind and the field, and nothing is written.
 *
 * What a schema allows is the privacy rule of the log made checkable: identifiers, node ids,
 * purposes, clause paths, counts, fingerprints and digests, never object contents, free text or
 * personal data. Digests of text that could be guessed are keyed (`...Hmac` fields) and officers
 * are named by keyed pseudonyms (`officerPseudonym`), both under the node's log-digest secret
 * (src/core/log-digest.ts, spec/log.md "Keyed digests"). Free text appears only where it is the
 * evidence itself and holds no personal
 * data: a partner's signed checkpoint (`witness`, `witness-alarm`) and an error message about a
 * key announcement (`key-announcement-refused.reason`).
 *
 * Versions: a kind's schema only ever grows compatibly (a new optional field, a new enum value),
 * and each such change bumps its `version`; every entry written under an earlier version still
 * validates (the samples of spec/vectors/log-kinds.json are checked against the current registry
 * forever). An incompatible change is a new kind name (`<kind>-v2`), so one kind name always
 * means one meaning of its fields.
 *
 * Risks: this is the last gate before data becomes permanent and readable by every partner; the
 * schemas are strict objects (no unknown keys) and strings are bounded.
 */
import { z } from "zod";
import { AccordError } from "../errors.js";
import type { LogEntryFields } from "./log-entry.js";
import { OFFICER_PSEUDONYM } from "./log-digest.js";

// ------------------------------------------------------------------------------ field types

// The patterns are named once: the schemas below and the hand-written checks of the hot kinds
// (`acceptsDecisions`) test the same expressions.
const PRINTABLE_256 = /^[\x21-\x7e]{1,256}$/;
const PRINTABLE_128 = /^[\x21-\x7e]{1,128}$/;
const AGREEMENT_REF = /^[\x21-\x7e]{1,128}( v\d{1,9})?$/;
const ONE_LINE = /^[^\n\r]*$/;

/** A node id as the peer protocol carries it (printable ASCII, no spaces). */
const node = z.string().regex(PRINTABLE_256, "a node id");
/** An identifier this node or a partner minted (object, bundle, envelope, recall, query ...). */
const id = z.string().regex(PRINTABLE_256, "an identifier (printable ASCII, 1-256)");
/** Lower-case hex SHA-256 (of content that cannot be guessed: ciphertext, signed messages). */
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits");
/** Lower-case hex HMAC-SHA-256 under the node's log-digest key (text that could be guessed). */
const hmac64 = hex64;
/** An officer's keyed pseudonym (src/core/log-digest.ts): never a name. */
const officerPseudonym = z.string().regex(OFFICER_PSEUDONYM, "an officer pseudonym");
/** RFC 7638 JWK thumbprint (base64url SHA-256). */
const fingerprint = z.string().regex(/^[A-Za-z0-9_-]{43}$/, "an RFC 7638 thumbprint");
/** RFC 3339 date-time. */
const time = z
  .string()
  .regex(
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/,
    "an RFC 3339 time",
  );
/** A STIX version (its `modified` or `created` time), or "" for an object without one. */
const version = z.string().max(64);
/** A purpose, agreement id, role, identifier kind, op name: a short token. */
const token = z.string().regex(PRINTABLE_128, "a short token (printable ASCII)");
/** An agreement as `<id> v<version>`, or an agreement id. */
const agreementRef = z.string().regex(AGREEMENT_REF, "`<agreement> v<n>`");
/** A clause path (`<agreement> v<n> §<path>`, `$.rules[0]`, `default`): never a message. */
const clause = z.string().min(1).max(512).regex(ONE_LINE, "one line");
/**
 * A field written only under an earlier version of its kind, replaced by `instead`: an entry
 * carries exactly one of the two, named when it has both or neither.
 */
function oneOf(old: string, instead: string) {
  return (d: Readonly<Record<string, unknown>>, ctx: z.RefinementCtx): void => {
    const has = (f: string): boolean => d[f] !== undefined;
    if (has(old) && has(instead))
      ctx.addIssue({
        code: "custom",
        path: [old],
        message: `is written only by earlier versions of this kind; this entry has \`${instead}\``,
      });
    else if (!has(old) && !has(instead))
      ctx.addIssue({
        code: "custom",
        path: [instead],
        message: `is required (or \`${old}\`, as earlier versions of this kind wrote)`,
      });
  };
}

/** A role or a body's name: one line, no control characters. */
const name = z.string().min(1).max(256);
const count = z.int().nonnegative();
const ids = z.array(id).max(100_000);
const nodes = z.array(node).max(10_000);
const clauses = z.array(clause).max(1000);
/** A signed note (a checkpoint, with its signature lines). */
const note = z.string().max(16_384);
/** Error codes (`ERR_...`). */
const code = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, "an error code");

const ACTIONS = ["share", "accept", "onward-share", "use", "query", "release"] as const;

// ------------------------------------------------------------------------------ kinds

/** A decision on one object (the share path; a release shares through it too). */
const decisionShare = z.strictObject({
  action: z.enum(["share", "onward-share", "use", "release"]),
  object: id,
  version,
  partner: node,
  purpose: token,
  effect: z.enum(["permit", "deny"]),
  agreement: agreementRef.nullable(),
  clauses,
  dropped: z.array(z.string().max(256)).max(1000),
  profile: token.nullable().optional(),
  minimized: z
    .array(
      z.strictObject({
        path: z.string().max(512),
        action: token,
        kind: token.optional(),
      }),
    )
    .max(10_000)
    .optional(),
  sentAs: id.nullable().optional(),
});

const decisionAccept = z.strictObject({
  action: z.literal("accept"),
  object: id,
  version,
  partner: node,
  purpose: token.optional(),
  via: z.enum(["taxii", "taxii-pull"]).optional(),
  effect: z.enum(["permit", "deny"]),
  clauses,
});

const decisionQuery = z.strictObject({
  action: z.literal("query"),
  mode: z.enum(["oprf", "psi"]),
  query: id,
  partner: node,
  agreement: agreementRef,
  epoch: count,
  kind: token,
  purpose: token,
  elements: count,
  effect: z.enum(["permit", "deny"]),
  clauses,
  code: code.optional(),
  budget: z
    .strictObject({
      day: z.string().regex(/^\d+\/\d+$/),
      burst: z.string().regex(/^\d+\/\d+$/),
    })
    .optional(),
});

/**
 * An officer's decision on a follow-up request refused before any object is considered: no valid
 * officer token (`officerPseudonym` null, `code`), or none of the officer's roles may take it
 * (`roles`). v1 named the officer (`officer`, readable by every partner); v2 carries the officer's
 * keyed pseudonym instead.
 */
const decisionOfficer = z
  .strictObject({
    action: z.enum(["release", "refuse"]),
    request: id,
    partner: node.optional(),
    agreement: agreementRef.optional(),
    /** v1 only: the officer's name. */
    officer: name.nullable().optional(),
    officerPseudonym: officerPseudonym.nullable().optional(),
    roles: z.array(name).max(64).optional(),
    effect: z.literal("deny"),
    code: code.optional(),
    clauses,
  })
  .superRefine(oneOf("officer", "officerPseudonym"));

/**
 * `decisions` (src/app/decision-log.ts): the decisions of one share, or of one received envelope,
 * in one entry; what they share is said once, each member has the rest of a `decision`'s fields.
 */
const batchShare = z.strictObject({
  action: z.enum(["share", "onward-share", "use", "release"]),
  partner: node,
  purpose: token,
  decisions: z
    .array(
      z.strictObject({
        object: id,
        version,
        effect: z.enum(["permit", "deny"]),
        agreement: agreementRef.nullable(),
        clauses,
        dropped: decisionShare.shape.dropped,
        profile: token.nullable().optional(),
        minimized: decisionShare.shape.minimized,
        sentAs: id.nullable().optional(),
      }),
    )
    .min(1)
    .max(10_000),
});

const batchAccept = z.strictObject({
  action: z.literal("accept"),
  partner: node,
  envelope: id,
  decisions: z
    .array(z.strictObject({ object: id, version, effect: z.enum(["permit", "deny"]), clauses }))
    .min(1)
    .max(10_000),
});

// ------------------------------------------------------------------------------ hot kinds

/*
 * `decisions` entries carry a share's decisions (up to 48 KB of them, src/app/decision-log.ts) and
 * are written once per share chunk and once per received envelope: the schema's parse of them was
 * the largest cost of a log append on the share path (about 6 µs an object, share bench profile).
 * `acceptsDecisions` checks the same schema by hand. It only ever says yes: whatever it does not
 * accept goes to the schema, which decides and names the field, so it can make the gate neither
 * weaker nor stricter as long as it accepts nothing the schema refuses. test/log/kinds-fast.test.ts
 * checks it against the schema on every sample and on thousands of malformed variants.
 */

type Data = Readonly<Record<string, unknown>>;

/** An object as zod's strictObject sees one whose every enumerable key is in `known` (plain only). */
function within(v: unknown, known: ReadonlySet<string>): v is Data {
  if (typeof v !== "object" || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  // `for...in`, as zod enumerates keys: inherited enumerable keys count as unknown too.
  for (const k in v) if (!known.has(k)) return false;
  return true;
}

const isPrintable256 = (v: unknown): boolean => typeof v === "string" && PRINTABLE_256.test(v);
const isToken = (v: unknown): boolean => typeof v === "string" && PRINTABLE_128.test(v);
const isVersion = (v: unknown): boolean => typeof v === "string" && v.length <= 64;
const isEffect = (v: unknown): boolean => v === "permit" || v === "deny";

function isArrayOf(v: unknown, max: number, item: (x: unknown) => boolean): boolean {
  if (!Array.isArray(v) || v.length > max) return false;
  // `for...of` reads a hole as undefined, as zod's indexed loop does.
  for (const x of v as unknown[]) if (!item(x)) return false;
  return true;
}

const isClause = (v: unknown): boolean =>
  typeof v === "string" && v.length >= 1 && v.length <= 512 && ONE_LINE.test(v);
const isClauses = (v: unknown): boolean => isArrayOf(v, 1000, isClause);
const isDropped = (v: unknown): boolean =>
  isArrayOf(v, 1000, (x) => typeof x === "string" && x.length <= 256);

const CHANGE_KEYS: ReadonlySet<string> = new Set(["path", "action", "kind"]);
const isChange = (v: unknown): boolean =>
  within(v, CHANGE_KEYS) &&
  typeof v.path === "string" &&
  v.path.length <= 512 &&
  isToken(v.action) &&
  (v.kind === undefined || isToken(v.kind));

const SHARE_ACTIONS: ReadonlySet<unknown> = new Set(["share", "onward-share", "use", "release"]);
const SHARE_BATCH_KEYS: ReadonlySet<string> = new Set([
  "action",
  "partner",
  "purpose",
  "decisions",
]);
const SHARE_ITEM_KEYS: ReadonlySet<string> = new Set([
  "object",
  "version",
  "effect",
  "agreement",
  "clauses",
  "dropped",
  "profile",
  "minimized",
  "sentAs",
]);
const ACCEPT_BATCH_KEYS: ReadonlySet<string> = new Set([
  "action",
  "partner",
  "envelope",
  "decisions",
]);
const ACCEPT_ITEM_KEYS: ReadonlySet<string> = new Set(["object", "version", "effect", "clauses"]);

/** `batchShare`'s decision, by hand. */
const isShareItem = (d: unknown): boolean =>
  within(d, SHARE_ITEM_KEYS) &&
  isPrintable256(d.object) &&
  isVersion(d.version) &&
  isEffect(d.effect) &&
  (d.agreement === null || (typeof d.agreement === "string" && AGREEMENT_REF.test(d.agreement))) &&
  isClauses(d.clauses) &&
  isDropped(d.dropped) &&
  (d.profile === undefined || d.profile === null || isToken(d.profile)) &&
  (d.minimized === undefined || isArrayOf(d.minimized, 10_000, isChange)) &&
  (d.sentAs === undefined || d.sentAs === null || isPrintable256(d.sentAs));

/** `batchAccept`'s decision, by hand. */
const isAcceptItem = (d: unknown): boolean =>
  within(d, ACCEPT_ITEM_KEYS) &&
  isPrintable256(d.object) &&
  isVersion(d.version) &&
  isEffect(d.effect) &&
  isClauses(d.clauses);

/**
 * True only when the `decisions` schema accepts `data` (`batchShare` or `batchAccept`); false
 * when it refuses it or this check cannot tell (the schema then decides).
 */
export function acceptsDecisions(data: unknown): boolean {
  if (typeof data !== "object" || data === null) return false;
  const action = (data as Data).action;
  if (SHARE_ACTIONS.has(action))
    return (
      within(data, SHARE_BATCH_KEYS) &&
      isPrintable256(data.partner) &&
      isToken(data.purpose) &&
      Array.isArray(data.decisions) &&
      data.decisions.length >= 1 &&
      isArrayOf(data.decisions, 10_000, isShareItem)
    );
  if (action === "accept")
    return (
      within(data, ACCEPT_BATCH_KEYS) &&
      isPrintable256(data.partner) &&
      isPrintable256(data.envelope) &&
      Array.isArray(data.decisions) &&
      data.decisions.length >= 1 &&
      isArrayOf(data.decisions, 10_000, isAcceptItem)
    );
  return false;
}

/** The definition of one kind: what writes it, its schema version and its `data` schema. */
export interface LogKind {
  readonly kind: string;
  readonly version: number;
  readonly writtenBy: string;
  /** The schema of `data`, or one per variant picked from the data itself. */
  readonly data: Schema | ((data: Readonly<Record<string, unknown>>) => Schema);
  /**
   * For the hot kinds: a hand-written check that is true only when `data` would accept; anything
   * it does not accept goes to `data`, which decides (and names the field at fault).
   */
  readonly accepts?: (data: Readonly<Record<string, unknown>>) => boolean;
}

type Schema = z.ZodType<Readonly<Record<string, unknown>>>;

function kind(
  name: string,
  version: number,
  writtenBy: string,
  data: LogKind["data"],
  accepts?: LogKind["accepts"],
): LogKind {
  return accepts === undefined
    ? { kind: name, version, writtenBy, data }
    : { kind: name, version, writtenBy, data, accepts };
}

const decisionByAction = z.discriminatedUnion("action", [
  decisionShare,
  decisionAccept,
  decisionQuery,
]);

const KINDS: readonly LogKind[] = [
  // ---- objects, shares, receipts (src/app/node.ts)
  kind(
    "ingest",
    1,
    "ingest",
    z.strictObject({ bundle: id, objects: count, stored: count, digest: hex64 }),
  ),
  kind(
    "decision",
    2,
    "share, accept, TAXII accept, hit/no-hit query, release, an officer's refused decision",
    (d) => ("request" in d ? decisionOfficer : decisionByAction),
  ),
  kind(
    "decisions",
    1,
    "share, accept (many decisions to an entry)",
    z.discriminatedUnion("action", [batchShare, batchAccept]),
    acceptsDecisions,
  ),
  kind(
    "share",
    1,
    "share (sender)",
    z.strictObject({
      envelope: id,
      recipient: node,
      agreement: agreementRef,
      purpose: token,
      objects: count,
      digest: hex64,
    }),
  ),
  kind(
    "receipt",
    1,
    "delivery (sender)",
    z.strictObject({
      envelope: id,
      recipient: node,
      accepted: count,
      rejected: count,
      receiptDigest: hex64,
    }),
  ),
  kind(
    "accept",
    1,
    "receive (recipient)",
    z.strictObject({
      envelope: id,
      sender: node,
      accepted: count,
      rejected: count,
      digest: hex64,
    }),
  ),
  kind(
    "access",
    1,
    "the operator's reads of stored objects through the node's API (src/app/object-reads.ts)",
    z.strictObject({
      via: z.literal("api"),
      op: z.enum(["list-objects", "get-object"]),
      principal: token,
      type: token.optional(),
      objects: count,
      more: z.boolean(),
      digest: hex64,
    }),
  ),
  kind(
    "onward-refused",
    1,
    "share of another node's object, refused",
    z.strictObject({
      object: id,
      originator: node,
      partner: node,
      purpose: token,
      clauses,
    }),
  ),
  kind(
    "outbox-cancel",
    1,
    "outbox cancel, sunset sweep",
    z.strictObject({
      envelope: id,
      recipient: node.nullable(),
      agreement: agreementRef.nullable(),
      reason: z.enum(["operator", "sunset"]),
    }),
  ),
  // ---- agreements (src/app/node.ts, src/app/agreements.ts)
  kind(
    "agreement",
    1,
    "agreement load",
    z.strictObject({ agreement: token, version: count, hash: hex64 }),
  ),
  kind(
    "agreement-transition",
    1,
    "agreement lifecycle",
    z.strictObject({
      agreement: token,
      version: count,
      hash: hex64,
      from: token.nullable(),
      to: token,
      signed: nodes,
      missing: nodes,
      suspendedParties: nodes,
    }),
  ),
  kind(
    "agreement-signature",
    1,
    "agreement signing, exchange",
    z.strictObject({
      agreement: token,
      version: count,
      hash: hex64,
      node,
      via: node.nullable(),
    }),
  ),
  kind(
    "agreement-exchange",
    1,
    "agreement exchange",
    z.strictObject({ agreement: token, version: count, hash: hex64, partner: node }),
  ),
  kind(
    "agreement-event",
    1,
    "agreement suspension, resumption, termination",
    z.strictObject({
      agreement: token,
      event: hex64,
      kind: z.enum(["suspend", "resume", "suspend-party", "resume-party", "terminate"]),
      effective: time,
      by: name,
      party: node.nullable(),
      recordedBy: node,
      via: node.nullable(),
    }),
  ),
  kind(
    "consent",
    1,
    "an originator's onward-sharing consent",
    z.strictObject({
      consent: hex64,
      originator: node,
      holder: node,
      recipient: node,
      agreement: token,
      purpose: token,
      object: id,
      original: id.optional(),
      expires: time,
    }),
  ),
  kind(
    "consent-push",
    1,
    "a consent handed to its holder, or expired first",
    z.strictObject({
      consent: hex64,
      holder: node,
      agreement: token,
      outcome: z.enum(["acknowledged", "expired"]),
      attempts: count,
    }),
  ),
  // ---- keys (src/app/node.ts, src/app/key-rotation.ts)
  kind(
    "key-event",
    1,
    "peer added or re-learned",
    z.strictObject({
      event: z.enum(["peer-added", "peer-refreshed", "peer-key-changed"]),
      node,
      signing: fingerprint,
      encryption: fingerprint,
      previousSigning: fingerprint.optional(),
    }),
  ),
  kind(
    "key-rotated",
    1,
    "`accord keys rotate`",
    z.strictObject({
      signing: fingerprint,
      encryption: fingerprint,
      previous: fingerprint,
      previousEncryption: fingerprint,
      retiresAt: time,
      announcement: id,
    }),
  ),
  kind(
    "key-retired",
    1,
    "`accord keys retire`, overlap end",
    z.strictObject({
      signing: fingerprint,
      encryption: fingerprint,
      reason: z.enum(["operator", "overlap-ended"]),
      announcement: id.nullable().optional(),
    }),
  ),
  kind(
    "key-revoked",
    1,
    "`accord keys revoke`",
    z.strictObject({
      signing: fingerprint,
      encryption: fingerprint,
      reason: z.enum(["operator", "overlap-ended"]),
      replacement: fingerprint.optional(),
      replacementEncryption: fingerprint.optional(),
      announcement: id.nullable().optional(),
    }),
  ),
  kind(
    "key-announcement-acknowledged",
    1,
    "a partner's signed acknowledgement",
    z.strictObject({
      announcement: id,
      event: z.enum(["rotate", "retire", "revoke"]),
      partner: node,
    }),
  ),
  kind(
    "peer-key-rotated",
    1,
    "a partner's announcement",
    z.strictObject({
      node,
      previous: fingerprint,
      signing: fingerprint,
      encryption: fingerprint,
      retiresAt: time,
      announcement: id,
    }),
  ),
  kind(
    "peer-key-retired",
    1,
    "a partner's announcement",
    z.strictObject({ node, retired: fingerprint, announcement: id }),
  ),
  kind(
    "peer-key-revoked",
    1,
    "a partner's announcement",
    z.strictObject({
      node,
      revoked: fingerprint,
      replacement: fingerprint.nullable().optional(),
      announcement: id,
    }),
  ),
  kind(
    "key-announcement-refused",
    1,
    "a refused key announcement",
    z.strictObject({
      node,
      announcement: id.nullable(),
      event: z.enum(["rotate", "retire", "revoke"]).nullable(),
      signedBy: z.string().max(256).nullable(),
      reason: z.string().min(1).max(300),
    }),
  ),
  // ---- the log itself (src/app/witness.ts, storage)
  kind(
    "witness",
    1,
    "witnessing a partner's checkpoint",
    z.strictObject({
      partner: node,
      size: count,
      root: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "a base64 SHA-256"),
      previousSize: count,
      note,
    }),
  ),
  kind(
    "witness-alarm",
    1,
    "witnessing: an inconsistent checkpoint",
    z.strictObject({
      partner: node,
      reason: z.enum(["origin", "shrunk", "fork", "proof"]),
      previous: note,
      offered: note,
    }),
  ),
  kind(
    "ledger-carried-over",
    1,
    "migration 2 (the old chain's rows)",
    z.strictObject({
      entries: count,
      headHash: z.string().regex(/^([0-9a-f]{64})?$/, "64 hex digits"),
    }),
  ),
  kind(
    "log-digest",
    1,
    "a keyed digest or officer pseudonym computed for the operator or oversight",
    z.strictObject({ purpose: z.enum(["recall-reason", "legal-basis", "officer"]) }),
  ),
  // ---- recall and retention (src/app/recall.ts)
  kind(
    "recall",
    2,
    "recall or correction issued",
    z
      .strictObject({
        recall: id,
        kind: z.enum(["recall", "correction"]),
        object: id,
        replacement: version.nullable(),
        recipients: nodes,
        unreachable: nodes,
        otherMeans: nodes,
        purgedHere: count,
        /** v1 only: plain SHA-256 of the reason, which a reader could test guesses against. */
        reasonDigest: hex64.optional(),
        /** v2: keyed digest of the reason (`recall-reason`). */
        reasonHmac: hmac64.optional(),
      })
      .superRefine(oneOf("reasonDigest", "reasonHmac")),
  ),
  kind(
    "recall-confirmed",
    1,
    "operator confirms a recall by other means",
    z.strictObject({ recall: id, recipient: node, channel: z.literal("taxii") }),
  ),
  kind(
    "recall-ack",
    1,
    "a recall acknowledgement",
    z.strictObject({
      recall: id,
      from: node,
      via: node.nullable(),
      outcome: z.enum(["purged", "replaced", "not-held"]),
      purged: count,
      forwardedTo: nodes,
      ackDigest: hex64,
    }),
  ),
  kind(
    "recall-refused",
    1,
    "a recall message refused by its recipient",
    z.strictObject({
      recall: id,
      recipient: node,
      message: z.enum(["notice", "report"]),
      code,
    }),
  ),
  kind(
    "recall-applied",
    1,
    "a partner's recall applied here",
    z.strictObject({
      recall: id,
      kind: z.enum(["recall", "correction"]),
      originator: node,
      from: node,
      object: id,
      heldAs: ids,
      purged: count,
      replacement: version.nullable(),
      holdsReplacement: z.boolean(),
      forwardedTo: nodes,
      replacementSentTo: nodes,
    }),
  ),
  kind(
    "purge",
    1,
    "retention sweep",
    z.strictObject({
      reason: z.literal("retention"),
      object: id,
      version,
      type: token,
      originator: node,
      receivedFrom: node.nullable(),
      agreement: token.nullable(),
      retentionUntil: time.nullable(),
    }),
  ),
  // ---- hit/no-hit (src/app/match.ts)
  kind(
    "match-filter",
    1,
    "a Bloom filter issued to a partner",
    z.strictObject({
      partner: node,
      agreement: token,
      epoch: count,
      kinds: z.array(token).max(64),
      bytes: count,
    }),
  ),
  kind(
    "match-query",
    1,
    "an online query sent",
    z.strictObject({
      query: id,
      partner: node,
      agreement: token,
      epoch: count,
      kind: token,
      purpose: token,
      elements: count,
      hits: count,
    }),
  ),
  kind(
    "match-psi",
    1,
    "a PSI session",
    z.strictObject({
      session: id,
      partner: node,
      agreement: token,
      kind: token,
      purpose: token,
      mode: z.enum(["intersection", "cardinality"]),
      ours: count,
      theirs: count,
      size: count,
    }),
  ),
  kind(
    "match-request",
    2,
    "a follow-up request after a hit",
    z
      .strictObject({
        request: id,
        direction: z.enum(["incoming", "outgoing"]),
        partner: node,
        agreement: token,
        query: id,
        kind: token,
        purpose: token,
        /** v1 only: plain SHA-256 of the legal basis, which a reader could test guesses against. */
        legalBasisDigest: hex64.optional(),
        /** v2: keyed digest of the legal basis (`legal-basis`). */
        legalBasisHmac: hmac64.optional(),
        urgency: z.enum(["standard", "urgent"]),
        dueAt: time,
      })
      .superRefine(oneOf("legalBasisDigest", "legalBasisHmac")),
  ),
  kind(
    "match-request-decision",
    2,
    "a follow-up request decided",
    z.strictObject({
      request: id,
      partner: node,
      agreement: token,
      status: z.enum(["pending", "approved", "refused"]),
      /** v1 only: the deciding officer's name. */
      officer: name.optional(),
      /** v2: the deciding officer's keyed pseudonym (absent on the requester's side). */
      officerPseudonym: officerPseudonym.optional(),
      role: name.nullable(),
      reasons: count,
      released: ids,
      overdue: z.boolean().optional(),
    }),
  ),
  // ---- TAXII (src/app/taxii.ts)
  kind(
    "taxii",
    1,
    "TAXII reads, writes and deletions",
    z.discriminatedUnion("op", [
      z.strictObject({
        op: z.literal("add-objects"),
        principal: token,
        partner: node.optional(),
        collection: id,
        status: id,
        objects: count,
        accepted: count,
        rejected: count,
        digest: hex64,
      }),
      z.strictObject({
        op: z.enum(["get-objects", "get-object", "get-manifest", "get-versions"]),
        principal: token,
        partner: node.optional(),
        purpose: token.optional(),
        collection: id,
        objects: count,
        more: z.boolean(),
        digest: hex64,
      }),
      z.strictObject({
        op: z.literal("delete-object"),
        principal: token,
        collection: id,
        object: id,
        versions: count,
      }),
    ]),
  ),
  kind(
    "taxii-pull",
    1,
    "a page pulled from a partner's TAXII server",
    z.strictObject({
      from: node,
      // Written only by builds before 2026-12-03: a server URL can carry credentials, so the
      // pull now logs the collection id alone (spec/taxii.md).
      apiRoot: z.string().max(2048).nullable().optional(),
      collection: id.nullable(),
      objects: count,
      stored: count,
      unchanged: count,
      rejected: count,
      digest: hex64,
    }),
  ),
  kind(
    "taxii-credential",
    1,
    "TAXII credential issued or revoked",
    z.discriminatedUnion("event", [
      z.strictObject({
        event: z.literal("issued"),
        credential: token,
        partner: node,
        purpose: token,
        agreement: token.nullable(),
        read: z.boolean(),
        write: z.boolean(),
      }),
      z.strictObject({ event: z.literal("revoked"), credential: token }),
    ]),
  ),
  // ---- oversight and redress (C12, C13): registered ahead of their producers, so the schema an
  // auditor reads and the vectors exist before the first entry; no code writes them yet.
  kind(
    "sanction",
    1,
    "an oversight body's sanction imposed or lifted (C12, not built yet)",
    z.strictObject({
      sanction: id,
      event: z.enum(["imposed", "lifted"]),
      /** The oversight body, by the name in the agreement's `oversight` (never a person). */
      by: node,
      measure: z.enum(["suspend-agreement", "suspend-party"]),
      agreement: agreementRef,
      /** The party suspended, for `suspend-party`. */
      party: node.optional(),
      /** The finding it rests on, by identifier. */
      finding: id.optional(),
      /** Keyed digest (`legal-basis`) of the legal basis the body cites: free text, so keyed. */
      basisHmac: hmac64,
      effective: time,
    }),
  ),
  kind(
    "redress-step",
    1,
    "a step of an individual's access, correction or erasure request (C13, not built yet)",
    z.strictObject({
      /** The request, by an identifier the nodes minted: never the person or their words. */
      request: id,
      right: z.enum(["access", "correction", "erasure"]),
      step: z.enum(["received", "routed", "answered", "closed"]),
      /** The node the request came from or was routed to (the originator of the data). */
      partner: node.optional(),
      /** How many objects the request concerned on this node. */
      objects: count.optional(),
      outcome: z.enum(["granted", "partly-granted", "refused", "no-data"]).optional(),
      dueAt: time,
    }),
  ),
];

/** Every kind the node writes, by name. */
export const LOG_KINDS: ReadonlyMap<string, LogKind> = new Map(KINDS.map((k) => [k.kind, k]));

/** The actions a `decision` entry can record (src/core/policy/decide.ts `ACTIONS`). */
export const DECISION_ACTIONS: readonly string[] = ACTIONS;

/**
 * Refuses an entry whose kind is not registered or whose `data` does not match its kind's schema,
 * with ERR_MALFORMED_INPUT naming the kind and the first field at fault.
 */
export function checkLogEntry(entry: LogEntryFields): void {
  const k = LOG_KINDS.get(entry.kind);
  if (k === undefined) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `log entry kind \`${entry.kind}\` is not registered (src/core/log-kinds.ts)`,
    );
  }
  if (k.accepts?.(entry.data) === true) return;
  const schema = typeof k.data === "function" ? k.data(entry.data) : k.data;
  const r = schema.safeParse(entry.data);
  if (r.success) return;
  const issue = r.error.issues[0];
  const path = issue === undefined ? "" : issue.path.map(String).join(".");
  const field =
    issue?.code === "unrecognized_keys"
      ? `${path === "" ? "" : `${path}.`}${issue.keys.join(", ")}`
      : path;
  const what =
    issue?.code === "unrecognized_keys"
      ? "is not a field of this kind"
      : issue?.code === "invalid_type" && issue.message.endsWith("received undefined")
        ? "is required"
        : (issue?.message ?? "is not valid");
  throw new AccordError(
    "ERR_MALFORMED_INPUT",
    `log entry \`${entry.kind}\` v${String(k.version)}: data${field === "" ? "" : `.${field}`} ${what}`,
  );
}
