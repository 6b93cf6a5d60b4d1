/**
 * Demo, step 2 (VISION.md): what minimization did to XA's share and what the partners hold —
 * the suspect's e-mail travels only as a keyed pseudonym (the same token at XB and XC, so they can
 * join on it without learning the address), and XA's source is replaced by the Admiralty grade B2.
 * Narrates from the share verdicts (paths and detector kinds, never values) and checks the
 * partners' stores.
 */
import type { ShareOutcome } from "../app/node.js";
import type { Store } from "../app/ports.js";
import { SOURCE_GRADE_EXTENSION_ID } from "../core/minimize/index.js";

export const DEMO_GRADE = { scheme: "admiralty", code: "B2" } as const;
const SUSPECT_EMAIL_ID = "email-addr--13f3d860-f00a-4986-98dd-537308ef22e7";
const SUSPECT_EMAIL = "k.varga.invoices@mailbox.example";
const TOKEN = /^pseu-v1-[A-Za-z0-9_-]{22}@pseudonym\.invalid$/;

export async function narrateMinimization(
  shares: readonly ShareOutcome[],
  holders: readonly { readonly id: string; readonly store: Store }[],
  say: (line?: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  const checks: { name: string; ok: boolean }[] = [];
  const tokens = new Map<string, string>();
  say("  Minimization (the accord names profile cyber-default; XA grades its own sources B2):");
  for (const share of shares) {
    const permitted = share.verdicts.filter((v) => v.effect === "permit");
    const count = (action: string, path?: string) =>
      permitted.filter((v) =>
        (v.changes ?? []).some(
          (c) => c.action === action && (path === undefined || c.path === path),
        ),
      ).length;
    const unsourced = permitted.filter(
      (v) =>
        v.dropped.includes("created_by_ref") ||
        (v.changes ?? []).some((c) => c.action === "removed" && c.path === "created_by_ref"),
    ).length;
    say(
      `    to ${share.recipient}: the source (created_by_ref) removed from ${String(unsourced)} objects; grade B2 (Admiralty: usually reliable, probably true) put in its place on ${String(count("graded"))}; ids re-issued for the agreement on ${String(count("reissued", "id"))}`,
    );
    for (const v of permitted)
      for (const c of v.changes ?? [])
        if (c.action === "pseudonymized")
          say(`    pseudonymized ${v.id} \`${c.path}\`: ${c.reason} (sent as ${v.sentAs ?? v.id})`);

    const holder = holders.find((h) => h.id === share.recipient);
    if (holder === undefined) continue;
    const sentAs = share.verdicts.find((v) => v.id === SUSPECT_EMAIL_ID)?.sentAs;
    const copy = sentAs === undefined ? undefined : await holder.store.objects.get(sentAs);
    const value = copy?.object.value;
    if (typeof value === "string") tokens.set(share.recipient, value);
    const held: string[] = [];
    for (const v of permitted) {
      const o = v.sentAs === undefined ? undefined : await holder.store.objects.get(v.sentAs);
      if (o !== undefined) held.push(JSON.stringify(o.object));
    }
    checks.push({
      name: `${share.recipient} holds the suspect's e-mail only as a pseudonym (no address anywhere in what it received)`,
      ok:
        typeof value === "string" &&
        TOKEN.test(value) &&
        held.length === permitted.length &&
        held.every((t) => !t.includes(SUSPECT_EMAIL)),
    });
    checks.push({
      name: `${share.recipient} holds XA's objects with the source replaced by grade B2 (no created_by_ref)`,
      ok:
        held.length > 0 &&
        held.every((t) => {
          const o = JSON.parse(t) as Record<string, unknown>;
          const ext = (o.extensions as Record<string, { code?: unknown }> | undefined)?.[
            SOURCE_GRADE_EXTENSION_ID
          ];
          return !("created_by_ref" in o) && ext?.code === DEMO_GRADE.code;
        }),
    });
  }
  const [first, ...rest] = [...tokens.values()];
  if (first !== undefined) {
    say(
      `    ${[...tokens.keys()].join(" and ")} hold the address as the same token ${first}: they can join on it without learning it`,
    );
    checks.push({
      name: "XB and XC received the same token for the suspect's e-mail (one agreement, one epoch)",
      ok: rest.length > 0 && rest.every((t) => t === first),
    });
  }
  return checks;
}
