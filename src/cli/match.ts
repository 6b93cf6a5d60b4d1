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
import { readSecret } from "./secrets.js";
import { OFFICER_TOKEN_HEADER } from "../server/match-routes.js";
import { addOfficer, listOfficers } from "./officers.js";
import { UsageError } from "./args.js";

export const MATCH_HELP = `  match query --partner ID --agreement A --kind K VALUE... [--purpose P]
                         ask a partner whether it holds each identifier: one bit each, nothing revealed
  match psi --partner ID --agreement A --kind K FILE [--cardinality] [--purpose P]
                         list against list (one identifier a line in FILE); or only how many are shared
  request file --query QID --legal-basis TEXT VALUE [--urgent] [--purpose P] [--justification T]
                         after a hit: ask the partner for the record (deadline 48 h, urgent 8 h)
  request list [--incoming|--outgoing] [--status pending|approved|refused] | request show ID
  match approve ID [--reason T]...          (also: request approve ID)
  match deny ID --reason T...               (also: request refuse ID)
                         decide a partner's follow-up request as an officer: the officer and role come
                         from the officer's own token, read from $ACCORD_OFFICER_TOKEN or
                         --officer-token-file F (0600), never from a flag
  officer add NAME --role R... [--token-file F]
                         give an officer a new token: its SHA-256 goes into accord.yaml \`officers\`, the
                         token into F (0600) or printed once; restart the node to apply
  officer list           the officers in accord.yaml: names, roles, the pseudonyms the log names them by
`;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

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
  role: { type: "string", multiple: true },
  officer: { type: "string" },
  "officer-token-file": { type: "string" },
  "token-file": { type: "string" },
  reason: { type: "string", multiple: true },
} as const;

/** The officer's own token: $ACCORD_OFFICER_TOKEN or a 0600 file, never a command-line value. */
function officerToken(
  file: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (file !== undefined) {
    const token = readSecret(file, "officer token").trim();
    if (token === "") throw new AccordError("ERR_CONFIG_INVALID", `\`${file}\` is empty`);
    return token;
  }
  const token = env.ACCORD_OFFICER_TOKEN?.trim();
  if (token === undefined || token === "")
    throw new UsageError(
      "deciding a request needs the officer's own token: set ACCORD_OFFICER_TOKEN or give --officer-token-file F",
    );
  return token;
}

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
    const dir = values.dir ?? env.ACCORD_DIR ?? ".";
    if (command === "officer") {
      if (sub === "add") {
        const name = rest[0];
        if (name === undefined || rest.length > 1)
          throw new UsageError(
            "expected `accord officer add NAME --role R...` (quote a NAME with spaces)",
          );
        const roles = values.role ?? [];
        if (roles.length === 0) throw new UsageError("--role is required (one or more)");
        const r = addOfficer(dir, env, name, roles, values["token-file"]);
        print(
          r.token === undefined
            ? `officer ${r.name} (${r.roles.join(", ")}) added to ${r.configFile}; token written to ${values["token-file"] ?? ""} (0600). Restart the node to apply.`
            : `officer ${r.name} (${r.roles.join(", ")}) added to ${r.configFile}; restart the node to apply.\ntoken: ${r.token}\nHand it to the officer over a secure channel; it is not shown again. They use it as ACCORD_OFFICER_TOKEN.`,
          {
            name: r.name,
            roles: r.roles,
            configFile: r.configFile,
            ...(r.token === undefined ? {} : { token: r.token }),
          },
        );
        return 0;
      }
      if (sub === "list") {
        const list = listOfficers(dir, env);
        print(
          list
            .map(
              (o) =>
                `${o.name}  ${o.roles.join(", ")}${o.pseudonym === undefined ? "" : `  ${o.pseudonym}`}`,
            )
            .join("\n") || "no officers: add one with `accord officer add NAME --role R`",
          { officers: list },
        );
        return 0;
      }
      throw new UsageError("expected `accord officer add|list`");
    }
    const api = ApiClient.forConfig(loadConfig(dir, env));
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
    }
    const decision =
      (command === "match" && sub === "approve") || (command === "request" && sub === "approve")
        ? "approve"
        : (command === "match" && sub === "deny") || (command === "request" && sub === "refuse")
          ? "refuse"
          : undefined;
    if (decision !== undefined) {
      const id = rest[0] ?? "";
      if (id === "") throw new UsageError(`expected \`accord ${command} ${sub ?? ""} ID\``);
      if (values.officer !== undefined || values.role !== undefined)
        throw new UsageError(
          "the officer and the role come from the officer's own token ($ACCORD_OFFICER_TOKEN or --officer-token-file), not from --officer or --role",
        );
      const headers = {
        [OFFICER_TOKEN_HEADER]: officerToken(values["officer-token-file"], env),
      };
      const path = `/match/requests/${encodeURIComponent(id)}/${decision}`;
      if (decision === "approve") {
        const r = await api.call<{
          request: RequestView;
          released: { id: string; dropped: string[] }[];
          refused: { id: string; reasons: string[] }[];
        }>(
          "POST",
          path,
          { json: values.reason === undefined ? {} : { reasons: values.reason } },
          headers,
        );
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
      const r = await api.call<RequestView>(
        "POST",
        path,
        { json: { reasons: values.reason ?? [] } },
        headers,
      );
      print(describeRequest(r), r);
      return 0;
    }
    throw new UsageError(
      "expected `accord match query|psi|approve|deny`, `accord request file|list|show|approve|refuse` or `accord officer add|list`",
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
