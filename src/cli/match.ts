/**
 * `accord match` and `accord request`: hit/no-hit queries, bulk PSI and follow-up requests
 * through the running node's API (spec/match.md). Prints for people by default, one JSON document
 * with `--json`; exit codes as the rest of the CLI (0 done, 2 usage, 3 invalid, 4 refused —
 * including an exhausted budget —, 5 unreachable).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AccordError, isAccordError, type ErrorCode } from "../errors.js";
import type { QueryResult, PsiResult, RequestView } from "../app/match.js";
import { loadConfig } from "./config.js";
import { ApiClient } from "./api-client.js";

export const MATCH_HELP = `  match query --partner ID --agreement A --kind K VALUE... [--purpose P]
                         ask a partner whether it holds each identifier: one bit each, nothing revealed
  match psi --partner ID --agreement A --kind K FILE [--cardinality] [--purpose P]
                         list against list (one identifier a line in FILE); or only how many are shared
  request file --query QID --legal-basis TEXT VALUE [--urgent] [--purpose P] [--justification T]
                         after a hit: ask the partner for the record (deadline 48 h, urgent 8 h)
  request list [--incoming|--outgoing] [--status pending|approved|refused] | request show ID
  request approve ID --role R --officer NAME [--reason T]...
  request refuse ID --officer NAME --reason T... [--role R]
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

class UsageError extends Error {}

const options = {
  json: { type: "boolean" },
  dir: { type: "string" },
  partner: { type: "string" },
  agreement: { type: "string" },
  kind: { type: "string" },
  purpose: { type: "string" },
  cardinality: { type: "boolean" },
  query: { type: "string" },
  "legal-basis": { type: "string" },
  urgent: { type: "boolean" },
  justification: { type: "string" },
  incoming: { type: "boolean" },
  outgoing: { type: "boolean" },
  status: { type: "string" },
  role: { type: "string" },
  officer: { type: "string" },
  reason: { type: "string", multiple: true },
} as const;

function need(v: string | undefined, flag: string): string {
  if (v === undefined || v === "") throw new UsageError(`${flag} is required`);
  return v;
}

function describeRequest(r: RequestView): string {
  const head = `${r.id}  ${r.direction === "incoming" ? "from" : "to"} ${r.partner} under ${r.agreementId}: ${r.status}${r.overdue ? " — OVERDUE" : ""}`;
  const lines = [
    head,
    `  ${r.kind} ${r.identifier}; ${r.urgency}; due ${r.dueAt}; filed ${r.filedAt} (hit ${r.hitAt})`,
    `  legal basis: ${r.legalBasis}; purpose ${r.purpose}`,
  ];
  if (r.justification !== "") lines.push(`  justification: ${r.justification}`);
  if (r.status !== "pending")
    lines.push(
      `  ${r.status} ${r.decidedAt ?? ""} by ${r.decidedBy ?? "?"}${r.decidedRole === null ? "" : ` (${r.decidedRole})`}`,
    );
  for (const x of r.reasons) lines.push(`  reason: ${x}`);
  if (r.released.length > 0) lines.push(`  released: ${r.released.join(", ")}`);
  return lines.join("\n");
}

/** Run `accord match ...` or `accord request ...`; returns the exit code. */
export async function runMatchCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io,
  exitCodeFor: (code: ErrorCode) => number,
): Promise<number> {
  let values: ReturnType<
    typeof parseArgs<{ options: typeof options; allowPositionals: true }>
  >["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.err(`accord: ${(e as Error).message}\n\n${MATCH_HELP}`);
    return 2;
  }
  const json = values.json === true;
  const print = (human: string, doc: unknown) => {
    io.out(json ? `${JSON.stringify(doc, null, 2)}\n` : `${human}\n`);
  };
  const [command, sub, ...rest] = positionals;
  try {
    const api = ApiClient.forConfig(loadConfig(values.dir ?? env.ACCORD_DIR ?? ".", env));
    if (command === "match" && (sub === "query" || sub === "psi")) {
      const partner = need(values.partner, "--partner");
      const agreement = need(values.agreement, "--agreement");
      const kind = need(values.kind, "--kind");
      const purpose = values.purpose === undefined ? {} : { purpose: values.purpose };
      if (sub === "query") {
        if (rest.length === 0) throw new UsageError("name at least one VALUE to ask about");
        const r = await api.call<QueryResult>("POST", "/match/queries", {
          json: { partner, agreement, kind, values: rest, ...purpose },
        });
        const lines = r.hits.map((hit, i) => `${hit ? "HIT   " : "no hit"}  ${rest[i] ?? ""}`);
        lines.push(
          `query ${r.queryId}: ${partner} under ${agreement} (key epoch ${String(r.epoch)}); ${String(r.hits.filter(Boolean).length)} of ${String(r.hits.length)} known${r.hits.some(Boolean) ? `\nnext: accord request file --query ${r.queryId} --legal-basis "..." VALUE` : ""}`,
        );
        print(lines.join("\n"), r);
        return 0;
      }
      const file = rest[0];
      if (file === undefined)
        throw new UsageError("`accord match psi` needs a FILE of identifiers");
      let list: string[];
      try {
        list = readFileSync(file, "utf8")
          .split(/\r?\n/)
          .map((l) => l.trim())
          .filter((l) => l !== "" && !l.startsWith("#"));
      } catch {
        throw new AccordError("ERR_NOT_FOUND", `cannot read \`${file}\``);
      }
      const r = await api.call<PsiResult>("POST", "/match/psi", {
        json: {
          partner,
          agreement,
          kind,
          values: list,
          mode: values.cardinality === true ? "cardinality" : "intersection",
          ...purpose,
        },
      });
      const shared = (r.shared ?? []).map((i) => `  shared  ${list[i] ?? ""}`);
      print(
        [
          `${String(r.size)} of our ${String(r.ours)} identifiers are among ${partner}'s ${String(r.theirs)} (session ${r.sessionId})`,
          ...shared,
        ].join("\n"),
        r,
      );
      return 0;
    }
    if (command === "request") {
      if (sub === "file") {
        const value = rest[0];
        if (value === undefined)
          throw new UsageError("`accord request file` needs the VALUE that hit");
        const r = await api.call<RequestView>("POST", "/match/requests", {
          json: {
            query: need(values.query, "--query"),
            value,
            legal_basis: need(values["legal-basis"], "--legal-basis"),
            urgency: values.urgent === true ? "urgent" : "standard",
            ...(values.purpose === undefined ? {} : { purpose: values.purpose }),
            ...(values.justification === undefined ? {} : { justification: values.justification }),
          },
        });
        print(`filed: ${describeRequest(r)}`, r);
        return 0;
      }
      if (sub === "list") {
        const q = new URLSearchParams();
        if (values.incoming === true) q.set("direction", "incoming");
        if (values.outgoing === true) q.set("direction", "outgoing");
        if (values.status !== undefined) q.set("status", values.status);
        const r = await api.call<{ requests: RequestView[] }>(
          "GET",
          `/match/requests${q.size > 0 ? `?${q.toString()}` : ""}`,
        );
        print(r.requests.map(describeRequest).join("\n") || "no follow-up requests", r);
        return 0;
      }
      const id = rest[0] ?? "";
      if (sub === "show") {
        if (id === "") throw new UsageError("expected `accord request show ID`");
        const r = await api.call<RequestView>("GET", `/match/requests/${encodeURIComponent(id)}`);
        print(describeRequest(r), r);
        return 0;
      }
      if (sub === "approve") {
        if (id === "") throw new UsageError("expected `accord request approve ID`");
        const r = await api.call<{
          request: RequestView;
          released: { id: string; dropped: string[] }[];
          refused: { id: string; reasons: string[] }[];
        }>("POST", `/match/requests/${encodeURIComponent(id)}/approve`, {
          json: {
            role: need(values.role, "--role"),
            officer: need(values.officer, "--officer"),
            ...(values.reason === undefined ? {} : { reasons: values.reason }),
          },
        });
        print(
          [
            describeRequest(r.request),
            ...r.released.map(
              (x) =>
                `  sent ${x.id}${x.dropped.length > 0 ? ` without ${x.dropped.join(", ")}` : ""}`,
            ),
            ...r.refused.map((x) => `  refused ${x.id}: ${x.reasons.join("; ")}`),
          ].join("\n"),
          r,
        );
        return 0;
      }
      if (sub === "refuse") {
        if (id === "") throw new UsageError("expected `accord request refuse ID`");
        const r = await api.call<RequestView>(
          "POST",
          `/match/requests/${encodeURIComponent(id)}/refuse`,
          {
            json: {
              officer: need(values.officer, "--officer"),
              reasons: values.reason ?? [],
              ...(values.role === undefined ? {} : { role: values.role }),
            },
          },
        );
        print(describeRequest(r), r);
        return 0;
      }
    }
    throw new UsageError(
      "expected `accord match query|psi` or `accord request file|list|show|approve|refuse`",
    );
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`accord: ${e.message}\n\n${MATCH_HELP}`);
      return 2;
    }
    if (!isAccordError(e)) {
      io.err(`accord: internal error: ${(e as Error).message}\n`);
      return 1;
    }
    if (json)
      io.out(
        `${JSON.stringify({ error: { code: e.code, message: e.message, details: e.details, ...(e.retryAt === undefined ? {} : { retryAt: e.retryAt }) } }, null, 2)}\n`,
      );
    else io.err(`accord: ${e.message} [${e.code}]\n`);
    return exitCodeFor(e.code);
  }
}
