/**
 * The decision engine, minimal form (spec/policy.md): one `decide()` for the actions `share`
 * (outbound) and `accept` (inbound), evaluated against the agreements in force.
 *
 * - Default deny: with no agreement in force between the two nodes that permits the purpose, the
 *   answer is deny, with a reason saying so.
 * - Deny overrides: within an agreement, any denying clause denies the object.
 * - A decision is a value, never an exception: effect, obligations and reasons that quote the
 *   agreement's clause paths ("§data.types.identity.properties").
 * - Properties outside the type's allowlist are not a denial on share: the obligation is to drop
 *   them, and each one dropped carries its own reason. On accept they are a denial, since an
 *   honest sender would have removed them.
 */
import type { StixObject } from "../stix/object.js";
import { tlpLevelOf, TLP_ORDER, type TlpName } from "../stix/tlp.js";
import { agreementLabel, isInForce, type Agreement } from "../agreement/parse.js";
import type { TlpLevel } from "../agreement/schema.js";

export type Action = "share" | "accept";

export interface DecisionContext {
  readonly action: Action;
  /** This node. */
  readonly self: string;
  /** The recipient (share) or the sender (accept). */
  readonly partner: string;
  readonly purpose: string;
  readonly at: Date;
  /** Restrict the decision to one agreement (by id); otherwise every agreement in force is tried. */
  readonly agreementId?: string;
  /** The node that first ingested the object; another node's object needs onward-sharing rights. */
  readonly originator?: string;
}

export interface Reason {
  /** What this clause did: permitted, denied, or required a property to be dropped. */
  readonly effect: "permit" | "deny" | "drop";
  /** `regional-cyber-accord v1 §data.types.identity.properties`, or `default` for default deny. */
  readonly clause: string;
  /** One sentence quoting the agreement, for people. */
  readonly message: string;
}

export interface Obligations {
  /** Top-level properties that must be removed before the object travels. */
  readonly dropProperties: readonly string[];
  /** RFC 3339: the recipient must purge the object by then. */
  readonly retentionUntil: string;
  readonly onwardSharing: boolean;
}

export type Decision =
  | {
      readonly effect: "permit";
      readonly agreement: { readonly id: string; readonly version: number; readonly hash: string };
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

const LEVEL_TO_TLP: Record<TlpLevel, TlpName> = {
  clear: "clear",
  green: "green",
  amber: "amber",
  "amber+strict": "amber+strict",
  red: "red",
};

export function decide(
  object: StixObject,
  ctx: DecisionContext,
  agreements: readonly Agreement[],
): Decision {
  const denials: Reason[] = [];
  const candidates = agreements.filter(
    (a) => ctx.agreementId === undefined || a.id === ctx.agreementId,
  );
  for (const agreement of candidates) {
    const d = evaluate(object, ctx, agreement);
    if (d.effect === "permit") return d;
    denials.push(...d.reasons);
  }
  if (candidates.length === 0) {
    const which =
      ctx.agreementId === undefined
        ? "no agreement is held"
        : `agreement \`${ctx.agreementId}\` is not held`;
    denials.push({
      effect: "deny",
      clause: "default",
      message: `denied by default: ${which} by \`${ctx.self}\``,
    });
  }
  return { effect: "deny", reasons: denials };
}

function evaluate(object: StixObject, ctx: DecisionContext, a: Agreement): Decision {
  const label = agreementLabel(a);
  const clause = (path: string): string => `${a.id} v${a.version} §${path}`;
  const deny = (path: string, message: string): Decision => ({
    effect: "deny",
    reasons: [
      {
        effect: "deny",
        clause: clause(path),
        message: `denied: ${message} under ${label} §${path}`,
      },
    ],
  });
  const doc = a.doc;

  if (!isInForce(a, ctx.at)) {
    const when =
      ctx.at.getTime() < a.effectiveFromMs
        ? `takes effect on ${doc.effective_from}`
        : `reached its sunset on ${doc.sunset}`;
    return deny(
      ctx.at.getTime() < a.effectiveFromMs ? "effective_from" : "sunset",
      `the agreement ${when}`,
    );
  }
  const parties = doc.parties.map((p) => p.node);
  for (const node of [ctx.self, ctx.partner]) {
    if (!parties.includes(node)) return deny("parties", `\`${node}\` is not a party`);
  }
  if (doc.purposes.prohibited.includes(ctx.purpose))
    return deny("purposes.prohibited", `purpose \`${ctx.purpose}\` is prohibited`);
  if (!doc.purposes.permitted.includes(ctx.purpose))
    return deny("purposes.permitted", `purpose \`${ctx.purpose}\` is not permitted`);

  if (
    ctx.action === "share" &&
    ctx.originator !== undefined &&
    ctx.originator !== ctx.self &&
    !doc.onward_sharing.allowed
  )
    return deny(
      "onward_sharing",
      `\`${object.id}\` came from \`${ctx.originator}\` and onward sharing needs the originator's consent`,
    );

  // Deny overrides: every denying clause is reported, not just the first.
  const denials: Reason[] = [];
  const denyReason = (path: string, message: string): Reason => ({
    effect: "deny",
    clause: clause(path),
    message: `denied: ${message} under ${label} §${path}`,
  });
  const typeRule = doc.data.types[object.type];
  if (typeRule === undefined)
    denials.push(denyReason("data.types", `type \`${object.type}\` is not permitted`));
  const marked = tlpLevelOf(object);
  const level = marked ?? LEVEL_TO_TLP[doc.markings.unmarked_as];
  const ceiling = LEVEL_TO_TLP[doc.markings.tlp_ceiling];
  if (TLP_ORDER[level] > TLP_ORDER[ceiling]) {
    const how =
      marked === undefined
        ? `unmarked (taken as TLP:${level.toUpperCase()})`
        : `marked TLP:${level.toUpperCase()}`;
    denials.push(
      denyReason(
        "markings.tlp_ceiling",
        `\`${object.id}\` is ${how}, above the ceiling TLP:${ceiling.toUpperCase()}`,
      ),
    );
  }
  if (typeRule === undefined || denials.length > 0) return { effect: "deny", reasons: denials };

  const allowed = typeRule.properties;
  const reasons: Reason[] = [];
  const drop: string[] = [];
  const propertyPath = `data.types.${object.type}.properties`;
  for (const p of Object.keys(object)) {
    if (ALWAYS_PERMITTED.has(p) || allowed.includes(p)) continue;
    if (ctx.action === "accept")
      return deny(propertyPath, `property \`${p}\` is not permitted for \`${object.type}\``);
    drop.push(p);
    reasons.push({
      effect: "drop",
      clause: clause(propertyPath),
      message: `refused: property \`${p}\` is not permitted for \`${object.type}\` under ${label} §${propertyPath}`,
    });
  }
  reasons.unshift({
    effect: "permit",
    clause: clause(`data.types.${object.type}`),
    message: `permitted: \`${object.type}\` for purpose \`${ctx.purpose}\` between \`${ctx.self}\` and \`${ctx.partner}\` under ${label} §data.types.${object.type}`,
  });
  const retentionUntil = new Date(
    ctx.at.getTime() + doc.retention.default_days * 86_400_000,
  ).toISOString();
  return {
    effect: "permit",
    agreement: { id: a.id, version: a.version, hash: a.hash },
    obligations: {
      dropProperties: drop,
      retentionUntil,
      onwardSharing: doc.onward_sharing.allowed,
    },
    reasons,
  };
}

/** Apply a permit's obligations: a new object without the dropped properties. */
export function applyObligations(object: StixObject, obligations: Obligations): StixObject {
  if (obligations.dropProperties.length === 0) return object;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object))
    if (!obligations.dropProperties.includes(k)) out[k] = v;
  return out as StixObject;
}
