/**
 * Objects pulled from a partner's TAXII server (`accord taxii pull URL --from PARTNER`, spec/taxii.md
 * "Client"), stored as that partner's so that recall and retention apply to them as to objects
 * received in sealed envelopes (spec/recall.md).
 *
 * - The partner must be pinned here (ERR_UNKNOWN_PARTNER): a recall notice is only ever accepted
 *   from a pinned partner, and it is the partner's recall that must reach these copies.
 * - The page is validated as STIX 2.1, whole; an invalid page stores nothing (ERR_STIX_INVALID).
 * - An object carrying Accord's provenance extension (an Accord node's partner collection) goes
 *   through the inbox's own check (`AccordNode.acceptArrived`): the originator is the partner, or
 *   the object carries the originator's consent for this hop; the agreement version it travelled
 *   under is the one held here; decide(accept); retention is the earlier of the sender's deadline
 *   and this node's.
 * - An object without it (any other TAXII server) is accepted only when the operator names the
 *   purpose (`--purpose`): decide(accept) for the partner and that purpose (and `--agreement`),
 *   stored with the partner as originator and the permitting agreement's retention deadline.
 * - One transaction: the stored objects, one `decision` entry per object (`via: "taxii"`) and one
 *   `taxii-pull` entry (partner, collection id, counts, digest of the id/version pairs). Metadata
 *   only: never contents, nor the server's URL (it can carry credentials).
 */
import { createHash } from "node:crypto";
import { AccordError } from "../errors.js";
import type { StixObject } from "../core/stix/object.js";
import { versionOf } from "../core/stix/object.js";
import { validateBundle } from "../core/stix/validate.js";
import { carriesProvenance, PROVENANCE_EXTENSION_ID } from "../core/provenance.js";
import { SOURCE_GRADE_EXTENSION_ID } from "../core/minimize/grades.js";
import { gradeOf } from "./minimization.js";
import type { AccordNode } from "./node.js";
import { stixError } from "./taxii.js";
import type { Clock, Random, Store, StoredObject } from "./ports.js";

/** What the accept check says about one object. */
type Checked = Awaited<ReturnType<AccordNode["acceptArrived"]>>;

export interface PullPage {
  /** The partner node whose server the objects were pulled from. */
  readonly from: string;
  /** For objects without Accord provenance: the purpose they are accepted for. */
  readonly purpose?: string;
  /** For objects without Accord provenance: the one agreement to decide under. */
  readonly agreementId?: string;
  /** Where they were pulled from (logged): API root URL and collection id. */
  readonly source?: { readonly apiRoot: string; readonly collection: string };
  readonly objects: readonly unknown[];
}

export interface PulledOutcome {
  readonly id: string;
  readonly version: string;
  readonly outcome: "stored" | "unchanged" | "rejected";
  readonly reason?: string;
}

export interface PullPageResult {
  readonly from: string;
  readonly objects: number;
  readonly stored: number;
  readonly unchanged: number;
  readonly rejected: number;
  readonly outcomes: readonly PulledOutcome[];
}

const MAX_OBJECTS = 10_000;

export async function acceptPulled(
  d: {
    readonly node: AccordNode;
    readonly store: Store;
    readonly clock: Clock;
    readonly random: Random;
  },
  page: PullPage,
): Promise<PullPageResult> {
  const { node, store } = d;
  if ((await store.peers.get(page.from)) === undefined)
    throw new AccordError(
      "ERR_UNKNOWN_PARTNER",
      `\`${page.from}\` is not a known partner of \`${node.id}\`; add it before pulling from its server`,
    );
  if (!Array.isArray(page.objects) || page.objects.length > MAX_OBJECTS)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `\`objects\` must be a list of at most ${MAX_OBJECTS} STIX objects`,
    );
  const bundle = { type: "bundle", id: `bundle--${d.random.uuid()}`, objects: page.objects };
  const verdict = validateBundle(bundle);
  if (!verdict.valid) throw stixError(verdict.issues, "the pulled page");

  const now = d.clock.now();
  const at = now.toISOString();
  const outcomes: PulledOutcome[] = [];
  const toStore: StoredObject[] = [];
  const decisions: Record<string, unknown>[] = [];
  for (const raw of page.objects as readonly StixObject[]) {
    if (raw.id === PROVENANCE_EXTENSION_ID || raw.id === SOURCE_GRADE_EXTENSION_ID) continue;
    const version = versionOf(raw);
    const r = carriesProvenance(raw)
      ? await node.acceptArrived(raw, page.from, now)
      : acceptPlain(node, raw, page, at);
    const reason = r.outcome.outcome === "rejected" ? r.outcome.reason : undefined;
    outcomes.push({
      id: raw.id,
      version,
      outcome: r.stored === undefined ? "rejected" : "stored",
      ...(reason === undefined ? {} : { reason }),
    });
    if (r.stored !== undefined) toStore.push(r.stored);
    decisions.push({
      action: "accept",
      object: raw.id,
      version,
      partner: page.from,
      ...(r.stored?.provenance.purpose == null ? {} : { purpose: r.stored.provenance.purpose }),
      via: "taxii",
      effect: r.stored === undefined ? "deny" : "permit",
      clauses: r.reasons.map((x) => x.clause),
    });
  }

  return store.transaction(async (tx) => {
    const unchanged = new Set<string>();
    const results = await tx.objects.putMany(toStore);
    toStore.forEach((s, i) => {
      if (results[i] === "unchanged") unchanged.add(`${s.object.id}\n${versionOf(s.object)}`);
    });
    const final = outcomes.map((o): PulledOutcome =>
      o.outcome === "stored" && unchanged.has(`${o.id}\n${o.version}`)
        ? { ...o, outcome: "unchanged" }
        : o,
    );
    for (const data of decisions) await tx.ledger.append({ kind: "decision", at, data });
    const count = (k: PulledOutcome["outcome"]) => final.filter((o) => o.outcome === k).length;
    const result: PullPageResult = {
      from: page.from,
      objects: final.length,
      stored: count("stored"),
      unchanged: count("unchanged"),
      rejected: count("rejected"),
      outcomes: final,
    };
    await tx.ledger.append({
      kind: "taxii-pull",
      at,
      data: {
        from: page.from,
        // The collection id only: a server URL can carry credentials and is not logged.
        collection: page.source?.collection ?? null,
        objects: result.objects,
        stored: result.stored,
        unchanged: result.unchanged,
        rejected: result.rejected,
        digest: digestOf(final.filter((o) => o.outcome !== "rejected")),
      },
    });
    return result;
  });
}

/** An object from a server that is not an Accord node: the operator's purpose decides. */
function acceptPlain(node: AccordNode, raw: StixObject, page: PullPage, at: string): Checked {
  const version = versionOf(raw);
  const reject = (reason: string): Checked => ({
    outcome: { id: raw.id, version, outcome: "rejected", reason },
    reasons: [],
  });
  if (page.purpose === undefined)
    return reject(
      `\`${raw.id}\` carries no Accord provenance; name the purpose it is accepted for (--purpose)`,
    );
  if (gradeOf(raw) === "malformed")
    return reject(`\`${raw.id}\` carries a malformed Accord source-grade extension`);
  const decision = node.explain(raw, {
    action: "accept",
    partner: page.from,
    purpose: page.purpose,
    ...(page.agreementId === undefined ? {} : { agreementId: page.agreementId }),
  });
  if (decision.effect === "deny")
    return {
      outcome: {
        id: raw.id,
        version,
        outcome: "rejected",
        reason: decision.reasons[0]?.message ?? "denied",
      },
      reasons: decision.reasons,
    };
  return {
    outcome: { id: raw.id, version, outcome: "stored" },
    stored: {
      object: raw,
      provenance: {
        originator: page.from,
        receivedFrom: page.from,
        agreementId: decision.agreement.id,
        agreementVersion: decision.agreement.version,
        purpose: page.purpose,
        retentionUntil: decision.obligations.retentionUntil,
        envelopeId: null,
      },
      storedAt: at,
    },
    reasons: decision.reasons,
  };
}

function digestOf(items: readonly { id: string; version: string }[]): string {
  const h = createHash("sha256");
  for (const i of items) h.update(`${i.id}\n${i.version}\n`);
  return h.digest("hex");
}
