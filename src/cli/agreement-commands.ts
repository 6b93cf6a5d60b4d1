/**
 * `accord agreement status|sign|sync|suspend|resume|terminate ID` against the running node
 * (spec/agreement.md "Enforcement on a node"). `sign` and `status` given a FILE instead of an id
 * keep their offline forms in main.ts.
 */
import { existsSync } from "node:fs";
import { AccordError } from "../errors.js";
import type { AgreementView, PushResult } from "../app/agreements.js";
import { ApiClient } from "./api-client.js";
import { loadConfig } from "./config.js";

const SLUG = /^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/;
const ON_NODE = new Set(["status", "sign", "sync", "suspend", "resume", "terminate"]);

export interface AgreementCommandContext {
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly print: (human: string, doc: unknown) => void;
  readonly flags: { readonly reason?: string; readonly by?: string; readonly party?: string };
}

/**
 * Run `agreement <sub> ID ...` against the node, or return undefined when the arguments are for
 * the offline form (a file that exists). Exit codes: 0 when the agreement is in force (status,
 * sign, sync) or the event was recorded; 4 when it is not in force.
 */
export async function agreementOnNode(
  args: readonly string[],
  ctx: AgreementCommandContext,
): Promise<number | undefined> {
  const [sub, target, versionArg] = args;
  if (sub === undefined || !ON_NODE.has(sub)) return undefined;
  if ((sub === "status" || sub === "sign") && target !== undefined && existsSync(target))
    return undefined;
  if (target === undefined || !SLUG.test(target))
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `expected \`accord agreement ${sub} ID\` with an agreement id${sub === "status" || sub === "sign" ? " (or an existing FILE for the offline form)" : ""}`,
    );
  let version: number | undefined;
  if (versionArg !== undefined) {
    version = Number(versionArg);
    if (!Number.isSafeInteger(version) || version < 1)
      throw new AccordError("ERR_BAD_REQUEST", "the version must be a positive integer");
  }
  const api = ApiClient.forConfig(loadConfig(ctx.dir, ctx.env));
  const path = `/agreements/${encodeURIComponent(target)}`;
  const versionBody = { json: version === undefined ? {} : { version } };
  switch (sub) {
    case "status": {
      const view = await api.call<AgreementView>("GET", path);
      ctx.print(describe(view), view);
      return view.status === "in-force" ? 0 : 4;
    }
    case "sign":
    case "sync": {
      const r = await api.call<{ view: AgreementView; pushed: PushResult[]; added?: boolean }>(
        "POST",
        `${path}/${sub}`,
        versionBody,
      );
      const head =
        sub === "sign"
          ? r.added === false
            ? "already signed by this node"
            : "signed"
          : "exchanged";
      ctx.print(`${head}\n${describePushes(r.pushed)}${describe(r.view)}`, r);
      return r.view.status === "in-force" ? 0 : 4;
    }
    default: {
      const f = ctx.flags;
      const r = await api.call<{ view: AgreementView; pushed: PushResult[] }>(
        "POST",
        `${path}/${sub}`,
        {
          json: {
            ...(f.reason === undefined ? {} : { reason: f.reason }),
            ...(f.by === undefined ? {} : { by: f.by }),
            ...(f.party === undefined ? {} : { party: f.party }),
          },
        },
      );
      ctx.print(`recorded: ${sub}\n${describePushes(r.pushed)}${describe(r.view)}`, r);
      return 0;
    }
  }
}

/** "regional-cyber-accord: in force (v1, signed by XA, XB, XC)" and one line per version. */
export function describe(v: AgreementView): string {
  const current = v.versions.find((x) => x.version === (v.inForce?.version ?? -1));
  const head =
    v.inForce !== null && current !== undefined
      ? `${v.id} v${String(current.version)}: in force: signed by ${current.signed.join(", ")}`
      : `${v.id}: not in force: ${v.status} (${v.detail})`;
  const lines = v.versions.map(
    (x) =>
      `  v${String(x.version)} ${x.status}: ${x.detail}; signed by ${x.signed.join(", ") || "nobody"}${x.missing.length > 0 ? `; awaiting ${x.missing.join(", ")}` : ""}${x.invalid.length > 0 ? `; invalid signatures from ${x.invalid.join(", ")}` : ""}`,
  );
  return [head, ...lines].join("\n");
}

function describePushes(pushed: readonly PushResult[]): string {
  return pushed
    .map((p) => `  -> ${p.node}: ${p.ok ? "exchanged" : `not reached (${p.error ?? "failed"})`}\n`)
    .join("");
}
