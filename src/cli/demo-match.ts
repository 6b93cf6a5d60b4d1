/**
 * Demo, step 3 (VISION.md): XA asks XB's FIU whether the suspect's IBAN is known, under the FIU
 * MoU (hit/no-hit only, 20 queries a day). XB holds its own record of the account; XA learns one
 * bit (a hit), files a follow-up request citing its legal basis, XB's releasing officer approves,
 * and a minimized record reaches XA through the share path. Narrates and returns checks.
 */
import { AccordError } from "../errors.js";
import { newOfficerToken, officerTokenHash } from "../app/officers.js";
import type { RunningNode } from "./compose.js";

const SUSPECT = "identity--91b322a3-331d-4bac-94c2-019caaf4b63a";
const XB_RECORD_ID = "identity--c4f0b0de-2f53-4c1e-9b8e-6a0f3b7d2e91";
const LEGAL_BASIS =
  "Directive (EU) 2019/1153 art. 8 (exchange between FIUs), for the analysis of a ransomware payment";

/** XB's own FIU record: the holder of the account behind the suspect's IBAN. */
function xbRecord(iban: string): unknown {
  return {
    type: "bundle",
    id: "bundle--5a0e4c57-0c1b-4b8a-8f6e-2d3c4b5a6978",
    objects: [
      {
        type: "identity",
        spec_version: "2.1",
        id: XB_RECORD_ID,
        created: "2026-05-11T08:30:00.000Z",
        modified: "2026-05-11T08:30:00.000Z",
        name: "K. Varga (account holder, suspicious-transaction report 2026-0412)",
        identity_class: "individual",
        contact_information: "k.varga@mailbox.example, +36 1 555 0199",
        x_iban: iban,
      },
    ],
  };
}

/** XB's two officers, each with their own token (fresh for each run of the demo). */
const OFFICERS = {
  analyst: {
    name: "duty analyst of XB's FIU",
    roles: ["analyst-supervisor"],
    token: newOfficerToken(),
  },
  head: { name: "releasing officer of XB's FIU", roles: ["head-of-fiu"], token: newOfficerToken() },
};

/** The `officers` section of XB's accord.yaml: names, roles and token hashes, never tokens. */
export function demoOfficers(): { name: string; roles: string[]; token_sha256: string }[] {
  return Object.values(OFFICERS).map((o) => ({
    name: o.name,
    roles: o.roles,
    token_sha256: officerTokenHash(o.token),
  }));
}

export async function playMatchStep(
  xa: RunningNode,
  xb: RunningNode,
  say: (line?: string) => void,
): Promise<{ name: string; ok: boolean }[]> {
  const checks: { name: string; ok: boolean }[] = [];
  const check = (name: string, ok: boolean) => {
    checks.push({ name, ok });
  };
  say("Step 3: XA asks XB's FIU whether the suspect's IBAN is known (FIU MoU, hit/no-hit only)");
  const suspect = await xa.store.objects.get(SUSPECT);
  const iban = (suspect?.object as { x_iban?: unknown } | undefined)?.x_iban;
  if (typeof iban !== "string")
    throw new AccordError("ERR_INTERNAL", "the demo bundle lost the suspect's IBAN");
  await xb.node.ingest(xbRecord(iban));
  say("  XB's FIU holds its own record of the account (ingested at XB).");

  const q = await xa.match.query({
    partner: "XB",
    agreementId: "fiu-mou",
    kind: "iban",
    values: [iban, "FR14 2004 1010 0505 0001 3M02 606"],
  });
  say(
    `  XA normalised and blinded both IBANs, XB evaluated them under fiu-mou key epoch ${String(q.epoch)} (POPRF, with a proof XA verified) and XA checked XB's signed filter locally:`,
  );
  say(
    `    the suspect's IBAN: ${q.hits[0] === true ? "HIT" : "no hit"}; another IBAN: ${q.hits[1] === true ? "HIT" : "no hit"}`,
  );
  check(
    "XA learns a hit for the suspect's IBAN and no hit for another",
    q.hits[0] === true && q.hits[1] === false,
  );
  const xbLog = await xb.store.ledger.list(0, 100_000);
  const decisions = xbLog.filter((e) => e.kind === "decision" && e.data.action === "query");
  check(
    "XB decided and logged the query (action query, kind iban) without the IBAN or blinded values",
    decisions.some((e) => e.data.effect === "permit" && e.data.kind === "iban") &&
      !JSON.stringify(xbLog).includes(iban.replace(/\s/g, "")),
  );
  const used = await xb.store.budgets.used({
    agreementId: "fiu-mou",
    partner: "XA",
    window: "day",
    at: new Date().toISOString(),
  });
  say(`  XB counted ${String(used)} of XA's 20 evaluations for today (and at most 5 a minute).`);
  check("XB counted the evaluations against XA's daily budget of 20", used === 2);

  const filed = await xa.match.fileRequest({
    queryId: q.queryId,
    value: iban,
    legalBasis: LEGAL_BASIS,
    purpose: "aml-cft",
  });
  say(`  XA files a follow-up request citing its legal basis: ${LEGAL_BASIS}`);
  say(`    due ${filed.dueAt} (Prüm II: core data within 48 hours of a match)`);
  const incoming = await xb.match.getRequest(filed.id);
  check(
    "XB holds XA's request, pending, due 48 hours after the hit",
    incoming.status === "pending" &&
      Date.parse(incoming.dueAt) === Date.parse(incoming.hitAt) + 48 * 3_600_000,
  );

  const analyst = await xb.match.approve(filed.id, { token: OFFICERS.analyst.token }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (analyst instanceof AccordError)
    say(`  XB's analyst supervisor tries to approve with their own token: ${analyst.message}`);
  check(
    "an approval outside the decision rights is refused",
    analyst instanceof AccordError && analyst.code === "ERR_POLICY_DENIED",
  );
  const approved = await xb.match.approve(filed.id, { token: OFFICERS.head.token });
  const released = approved.request.released;
  say(
    `  XB's releasing officer approves with their own token (role head-of-fiu, from the credential); the record leaves through the share path (decide release, minimize with profile fiu-release, seal to XA):`,
  );
  for (const v of approved.share?.verdicts ?? [])
    say(
      `    ${v.effect === "permit" ? "sent" : "refused"} ${v.id}${v.dropped.length > 0 ? ` without ${v.dropped.map((p) => `\`${p}\``).join(", ")}` : ""}`,
    );
  const copy = released[0] === undefined ? undefined : await xa.store.objects.get(released[0]);
  const mine = await xa.match.getRequest(filed.id);
  say(`  XA's request is now ${mine.status}; XA holds ${released[0] ?? "nothing"}.`);
  check(
    "XA holds XB's minimized record (name and class only) under fiu-mou, and its request shows approved",
    mine.status === "approved" &&
      copy?.provenance.originator === "XB" &&
      copy.provenance.agreementId === "fiu-mou" &&
      !("x_iban" in copy.object) &&
      !("contact_information" in copy.object) &&
      typeof (copy.object as { name?: unknown }).name === "string",
  );
  say("");
  return checks;
}
