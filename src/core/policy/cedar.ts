/**
 * Agreements compiled to Cedar (spec/policy.md "Cedar"), so partners can audit them with Cedar's
 * own analysis tools and so the benchmark can run Cedar on the equivalent policy.
 *
 * One `permit` per agreement and action; Cedar's default deny is ours. The request is expected to
 * carry its facts in `context` (self, partner, purpose, type, tlp as 0-4, day as days since the
 * epoch, props, agreement, originator_is_self, hops, consent_agreements, queries_today,
 * received_agreement, received_purpose, approved_by). What Cedar cannot express as an effect
 * stays with `decide()`: obligations, properties to drop, granular markings, data subjects, PAP,
 * phases, lifecycle state and reasons. Pure text generation; identifiers are JSON-quoted.
 */
import type { Agreement } from "../agreement/parse.js";
import { TLP_ORDER } from "../stix/tlp.js";

const ALWAYS = ["type", "spec_version", "id", "created", "modified"];
const str = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(", ")}]`;
const day = (d: string) => Math.floor(Date.parse(`${d}T00:00:00Z`) / 86_400_000);

export function toCedar(as: readonly Agreement[]): string {
  const out: string[] = [];
  for (const a of as) {
    const d = a.doc;
    const parties = str(d.parties.map((p) => p.node));
    const common = `context.day >= ${String(day(d.effective_from))} && context.day < ${String(day(d.sunset))} && ${parties}.contains(context.self) && ${parties}.contains(context.partner) && ${str(d.purposes.permitted)}.contains(context.purpose) && !${str(d.purposes.prohibited)}.contains(context.purpose)`;
    const types = str(Object.keys(d.data.types));
    const ceiling = TLP_ORDER[d.markings.tlp_ceiling];
    const phase = d.phase === undefined ? undefined : d.phase.phases[d.phase.current]?.types;
    const inPhase = phase === undefined ? "" : ` && ${str(phase)}.contains(context.type)`;
    const transfer = `${types}.contains(context.type)${inPhase} && context.tlp <= ${String(ceiling)}`;
    // Types under hit/no-hit queries with release on approval (or never) travel only as a release.
    const shareable = `!${str(d.queries.release === "automatic" ? [] : d.queries.types)}.contains(context.type)`;
    const scoped = `(context.agreement == "" || context.agreement == ${JSON.stringify(a.id)})`;
    // On accept, every property must be on the type's allowlist (an honest sender dropped the rest).
    const allowlists = Object.entries(d.data.types)
      .map(
        ([t, rule]) =>
          `(context.type == ${JSON.stringify(t)} && ${str([...ALWAYS, ...rule.properties])}.containsAll(context.props))`,
      )
      .join(" || ");
    out.push(
      `permit(principal, action == Action::"share", resource) when { ${scoped} && ${common} && ${transfer} && ${shareable} && context.originator_is_self };`,
      `permit(principal, action == Action::"accept", resource) when { ${scoped} && ${common} && ${transfer} && (${allowlists || "false"}) };`,
      `permit(principal, action in [Action::"share", Action::"onward-share"], resource) when { ${scoped} && ${common} && ${transfer} && ${shareable} && !context.originator_is_self && ${String(d.onward_sharing.allowed)} && context.hops < ${String(d.onward_sharing.max_hops + 1)} && context.consent_agreements.contains(${JSON.stringify(a.id)}) };`,
      `permit(principal, action == Action::"query", resource) when { ${scoped} && ${common} && ${str(d.queries.types)}.contains(context.type) && context.queries_today < ${String(d.queries.budget_per_day)} };`,
      `permit(principal, action == Action::"use", resource) when { ${scoped} && ${common} && context.received_agreement == ${JSON.stringify(a.id)} && context.received_purpose == context.purpose };`,
      `permit(principal, action == Action::"release", resource) when { ${scoped} && ${common} && ${transfer} && (${String(d.queries.release === "automatic")} || (${String(d.queries.release === "on-approval")} && ${str(d.decision_rights.release)}.containsAny(context.approved_by))) };`,
    );
  }
  return out.join("\n");
}
