/**
 * `accord minimize [--profile P] FILE`: a dry run of minimization (spec/minimization.md) on a STIX
 * bundle or object, offline. Prints the minimized bundle and, per object, what was removed or
 * transformed and why, or why it would be refused. Writes nothing.
 *
 * Profiles: the shipped examples/profiles and, inside a node directory, the node's own; `--profile`
 * may also be a path to a profile file. Without `--profile` the strictest profile (`strict`) is
 * used. Keys: the node's minimization secret when run in a node directory (the tokens are the ones
 * that node would send under `--agreement` and `--epoch`), otherwise a one-off random secret.
 * Risks: the report names paths and detector kinds, never the values found; the secret is never
 * printed.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes, randomUUID } from "node:crypto";
import { AccordError } from "../errors.js";
import { parseStix } from "../core/stix/validate.js";
import type { StixObject } from "../core/stix/object.js";
import {
  deriveMinimizationKeys,
  GRADE_SCHEMES,
  gradeCode,
  minimize,
  parseGrade,
  parseProfile,
  SOURCE_GRADE_EXTENSION_DEFINITION,
  SOURCE_GRADE_EXTENSION_ID,
  STRICT_PROFILE_NAME,
  type Change,
  type GradeScheme,
  type Profile,
  type Refusal,
  type SourceGrade,
} from "../core/minimize/index.js";
import { gradeOf } from "../app/minimization.js";
import { CONFIG_FILE, loadConfig, type NodeConfig } from "./config.js";
import { loadProfiles, profileDirs, SHIPPED_PROFILES_DIR } from "./profiles.js";
import { loadMinimizationSecret } from "./secrets.js";

export interface MinimizeOptions {
  readonly file: string;
  readonly profile?: string;
  readonly agreement?: string;
  readonly epoch?: string;
  readonly grade?: string;
  readonly dir: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface MinimizeObjectReport {
  readonly id: string;
  readonly type: string;
  readonly effect: "permit" | "deny";
  readonly sentAs?: string;
  readonly changes: readonly Change[];
  readonly refused?: readonly Refusal[];
}

export interface MinimizeDryRun {
  readonly profile: string;
  readonly agreement: string;
  readonly epoch: number;
  /** `node`: this node's minimization secret; `one-off`: a random secret for this run only. */
  readonly keys: "node" | "one-off";
  readonly grade: string | null;
  readonly objects: readonly MinimizeObjectReport[];
  readonly bundle: { type: "bundle"; id: string; objects: StixObject[] };
}

function usage(message: string): AccordError {
  return new AccordError("ERR_BAD_REQUEST", message);
}

function parseGradeFlag(raw: string): SourceGrade {
  const [scheme, code] = raw.includes(":") ? raw.split(":", 2) : ["admiralty", raw];
  if (!(GRADE_SCHEMES as readonly string[]).includes(scheme ?? ""))
    throw usage(`--grade: \`${scheme ?? ""}\` is not a grade scheme (${GRADE_SCHEMES.join(", ")})`);
  const g = parseGrade(scheme as GradeScheme, code ?? "");
  if (g === undefined)
    throw usage(`--grade: \`${code ?? ""}\` is not a ${scheme ?? ""} grade (e.g. admiralty:B2)`);
  return g;
}

/** Minimize every object of FILE under one profile; pure apart from reading files. */
export function minimizeDryRun(opts: MinimizeOptions): MinimizeDryRun {
  const root = resolve(opts.dir);
  const config: NodeConfig | undefined = existsSync(join(root, CONFIG_FILE))
    ? loadConfig(root, opts.env)
    : undefined;

  let profile: Profile;
  const wanted = opts.profile ?? STRICT_PROFILE_NAME;
  if (/\.ya?ml$/.test(wanted) && existsSync(wanted)) {
    profile = parseProfile(readFileSync(wanted, "utf8"), wanted);
  } else {
    const profiles = loadProfiles(
      config === undefined ? [SHIPPED_PROFILES_DIR] : profileDirs(config),
    );
    const found = profiles.get(wanted);
    if (found === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `no minimization profile \`${wanted}\`; known: ${[...profiles.keys()].sort().join(", ")}`,
      );
    profile = found;
  }

  const agreement = opts.agreement ?? "dry-run";
  let epoch = config?.epochs[agreement] ?? config?.epoch ?? 0;
  if (opts.epoch !== undefined) {
    epoch = Number(opts.epoch);
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw usage("--epoch must be a non-negative integer");
  }
  const secret =
    config === undefined
      ? new Uint8Array(randomBytes(32))
      : loadMinimizationSecret(config.minimizationSecretFile);
  const keys = deriveMinimizationKeys(secret, agreement, epoch);
  const defaultGrade = opts.grade === undefined ? config?.sourceGrade : parseGradeFlag(opts.grade);

  let text: string;
  try {
    text = readFileSync(opts.file, "utf8");
  } catch {
    throw new AccordError("ERR_NOT_FOUND", `cannot read \`${opts.file}\``);
  }
  const input = parseStix(text);
  const reports: MinimizeObjectReport[] = [];
  const out: StixObject[] = [];
  for (const raw of input.objects) {
    const o = raw as StixObject;
    const own = gradeOf(o);
    const grade = own !== undefined && own !== "malformed" ? own : defaultGrade;
    const r = minimize(o, profile, {
      agreementId: agreement,
      epoch,
      keys,
      ...(grade === undefined ? {} : { sourceGrade: grade }),
    });
    if ("object" in r) {
      out.push(r.object);
      reports.push({
        id: o.id,
        type: o.type,
        effect: "permit",
        sentAs: r.object.id,
        changes: r.report,
      });
    } else
      reports.push({
        id: o.id,
        type: o.type,
        effect: "deny",
        changes: r.report,
        refused: r.refused,
      });
  }
  const graded = out.some((o) => {
    const e = o.extensions;
    return e !== undefined && e !== null && typeof e === "object" && SOURCE_GRADE_EXTENSION_ID in e;
  });
  return {
    profile: profile.name,
    agreement,
    epoch,
    keys: config === undefined ? "one-off" : "node",
    grade: defaultGrade === undefined ? null : `${defaultGrade.scheme}:${gradeCode(defaultGrade)}`,
    objects: reports,
    bundle: {
      type: "bundle",
      id: `bundle--${randomUUID()}`,
      objects: graded ? [SOURCE_GRADE_EXTENSION_DEFINITION, ...out] : out,
    },
  };
}

/** The text `accord minimize` prints for people. */
export function describeDryRun(r: MinimizeDryRun): string {
  const lines: string[] = [];
  const sent = r.objects.filter((o) => o.effect === "permit").length;
  lines.push(
    `profile ${r.profile}; keys: ${r.keys === "node" ? "this node's minimization secret" : "a one-off secret (tokens match nothing a node sends)"}, agreement ${r.agreement}, epoch ${String(r.epoch)}; grade ${r.grade ?? "none"}`,
  );
  lines.push(`${String(sent)} of ${String(r.objects.length)} objects would travel`);
  for (const o of r.objects) {
    const head =
      o.effect === "permit"
        ? `${o.id}${o.sentAs !== undefined && o.sentAs !== o.id ? ` -> ${o.sentAs}` : ""}`
        : `${o.id}: refused`;
    lines.push(head);
    for (const f of o.refused ?? []) lines.push(`  refused       ${f.message} (${f.code})`);
    for (const c of o.changes)
      lines.push(
        `  ${c.action.padEnd(13)} ${c.path}: ${c.reason}${c.kind === undefined ? "" : ` [${c.kind}]`}`,
      );
  }
  lines.push("");
  lines.push("Minimized bundle:");
  lines.push(JSON.stringify(r.bundle, null, 2));
  return `${lines.join("\n")}\n`;
}

/** `accord minimize`: run and print; exit 0 (refusals are an answer, not an error). */
export function minimizeCommand(
  opts: MinimizeOptions,
  print: (human: string, doc: unknown) => void,
): number {
  const r = minimizeDryRun(opts);
  print(describeDryRun(r), r);
  return 0;
}
