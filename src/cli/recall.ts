/**
 * `accord recall`, `accord purge` and `accord onward-refusals` (spec/recall.md): commands against
 * a running node's API.
 *
 *   accord recall OBJECT_ID [--reason TEXT] [--correction]   issue a recall (or a correction)
 *   accord recall status [OBJECT_ID | RECALL_ID]              acknowledgements in and outstanding
 *   accord recall confirm RECALL_ID TARGET                    close a TAXII reader's target
 *   accord purge                                              run the retention purge now
 *   accord onward-refusals                                    refused onward hops (for oversight)
 */
import type { RecallStatus, PurgeReport, OnwardRefusal } from "../app/recall.js";
import { TAXII_TARGET_PREFIX } from "../app/recall.js";
import { apiClientFor, parseApiCommandArgs, type ApiCommand } from "./args.js";

export const RECALL_COMMANDS: ReadonlySet<string> = new Set(["recall", "purge", "onward-refusals"]);

export const RECALL_HELP = `  recall OBJECT_ID [--reason TEXT] [--correction] [--dir DIR]
                         recall an object this node originated from every node that got it
                         (--correction: send the latest version and drop the older ones)
  recall status [OBJECT_ID|RECALL_ID] [--dir DIR]
                         which acknowledgements are in and which are outstanding
  recall confirm RECALL_ID TARGET [--dir DIR]
                         close a \`taxii:CREDENTIAL\` target (a copy read over TAXII) once its
                         holder, told by other means, has removed the object
  purge [--dir DIR]      remove the objects whose retention deadline has passed (logged)
  onward-refusals [--dir DIR]
                         refused attempts to pass on another node's object, for oversight
`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Run one of RECALL_COMMANDS; `fail` turns an error into the exit code (main.ts's `report`).
 * Exit code 0 when done; `recall status` exits 4 while acknowledgements are outstanding.
 */
export const recallCommand: ApiCommand = async (argv, env, io, fail) => {
  let json = argv.includes("--json");
  try {
    const args = parseApiCommandArgs(
      argv,
      { reason: { type: "string" }, correction: { type: "boolean" } },
      io,
    );
    const { values, positionals, print } = args;
    json = args.json;
    const [command, ...rest] = positionals;
    const api = apiClientFor(values.dir, env);

    if (command === "purge") {
      const r = await api.call<PurgeReport>("POST", "/purges");
      print(
        r.purged === 0
          ? "nothing has passed its retention deadline"
          : `purged ${r.purged} object version(s) past their retention deadline:\n${r.versions.map((v) => `  ${v.id} ${v.version}`).join("\n")}`,
        r,
      );
      return 0;
    }
    if (command === "onward-refusals") {
      const { refusals } = await api.call<{ refusals: OnwardRefusal[] }>("GET", "/onward-refusals");
      print(
        refusals
          .map(
            (r) =>
              `${r.at}  ${r.object} (from ${r.originator}) to ${r.partner} for ${r.purpose}: refused\n${r.clauses.map((m) => `    ${m}`).join("\n")}`,
          )
          .join("\n") || "no refused onward hops",
        { refusals },
      );
      return 0;
    }
    // recall
    if (rest[0] === "status") {
      const target = rest[1];
      const list =
        target !== undefined && UUID.test(target)
          ? [await api.call<RecallStatus>("GET", `/recalls/${target}`)]
          : (
              await api.call<{ recalls: RecallStatus[] }>(
                "GET",
                target === undefined ? "/recalls" : `/recalls?object=${encodeURIComponent(target)}`,
              )
            ).recalls;
      print(list.map(describe).join("\n\n") || "no recalls", { recalls: list });
      return list.every((r) => r.complete) ? 0 : 4;
    }
    if (rest[0] === "confirm") {
      const [, recallId, target] = rest;
      if (recallId === undefined || target === undefined || rest.length > 3) {
        io.err("accord: expected `accord recall confirm RECALL_ID TARGET`\n");
        return 2;
      }
      // A credential id alone names its `taxii:` target, as `recall status` lists it.
      const r = await api.call<RecallStatus>(
        "POST",
        `/recalls/${encodeURIComponent(recallId)}/confirm`,
        {
          json: {
            target: target.startsWith(TAXII_TARGET_PREFIX)
              ? target
              : `${TAXII_TARGET_PREFIX}${target}`,
          },
        },
      );
      print(describe(r), r);
      return 0;
    }
    const objectId = rest[0];
    if (objectId === undefined || rest.length > 1) {
      io.err(
        "accord: expected `accord recall OBJECT_ID [--reason TEXT] [--correction]` or `accord recall status [ID]`\n",
      );
      return 2;
    }
    const r = await api.call<RecallStatus>("POST", "/recalls", {
      json: {
        object: objectId,
        kind: values.correction === true ? "correction" : "recall",
        ...(values.reason === undefined ? {} : { reason: values.reason }),
      },
    });
    await api.call<{ pending: number }>("POST", "/deliveries");
    const now = await api.call<RecallStatus>("GET", `/recalls/${r.id}`);
    print(describe(now), now);
    return 0;
  } catch (e) {
    return fail(e, json);
  }
};

function describe(r: RecallStatus): string {
  const head = `${r.kind} ${r.id} of ${r.object} (${r.role === "issued" ? "issued here" : `received from ${r.originator}`}, ${r.issuedAt})${r.reason === "" ? "" : `: ${r.reason}`}`;
  const lines = r.targets.map((t) => {
    const via = t.via === null ? "" : ` via ${t.via}`;
    if (t.detail?.notify === "other-means") {
      // A copy read over TAXII: no notice reaches a TAXII client.
      const d = t.detail as { credential?: unknown; partner?: unknown; coveredBy?: unknown };
      const who = `${t.recipient} (TAXII credential ${String(d.credential)} of ${String(d.partner)})`;
      if (t.status === "acknowledged")
        return typeof d.coveredBy === "string"
          ? `  ${who}: covered by ${d.coveredBy}'s acknowledgement at ${t.updatedAt}`
          : `  ${who}: confirmed by the operator at ${t.updatedAt}`;
      return `  ${who}: outstanding; tell its holder by other means, then \`accord recall confirm ${r.id} ${t.recipient}\``;
    }
    if (t.status === "acknowledged")
      return `  ${t.recipient}${via}: acknowledged (${t.ack?.claims.outcome ?? "?"}, ${t.ack?.claims.purged ?? 0} version(s) removed) at ${t.ack?.claims.at ?? t.updatedAt}`;
    if (t.status === "refused")
      return `  ${t.recipient}${via}: refused (${JSON.stringify(t.detail ?? {})})`;
    return `  ${t.recipient}${via}: outstanding`;
  });
  const nodes = r.outstanding.filter((o) => !r.otherMeans.includes(o));
  const tail = r.complete
    ? "  all acknowledgements are in"
    : [
        ...(nodes.length === 0
          ? []
          : [`  outstanding: ${nodes.join(", ")} (retried until they answer)`]),
        ...(r.otherMeans.length === 0
          ? []
          : [`  to tell by other means and confirm: ${r.otherMeans.join(", ")}`]),
      ].join("\n");
  return [head, ...lines, tail].join("\n");
}
