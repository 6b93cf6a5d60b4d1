/**
 * Minimization on the outbound gate (spec/minimization.md §on the share path; VISION.md C5): the
 * agreement's profile by name, the node's keys derived per agreement and epoch, and the source
 * grade, so that `AccordNode.releaseFor` can call the pure `minimize()` and turn its refusals into
 * reasons that quote the agreement's clause.
 *
 * Risks: the node secret is held here and only here; derived keys are cached in memory and never
 * logged or returned. Reasons and reports name paths, actions and detector kinds, never values.
 * An object received from a partner is attacker-controlled: its grade extension is checked before
 * it is believed.
 */
import type { JsonObject, StixObject } from "../core/stix/object.js";
import type { AgreementRef, Reason } from "../core/policy/decide.js";
import {
  deriveMinimizationKeys,
  isSourceGrade,
  minimize,
  reissueId,
  SOURCE_GRADE_EXTENSION_ID,
  type Change,
  type MinimizationKeys,
  type Profile,
  type SourceGrade,
} from "../core/minimize/index.js";

/** What a node needs to minimize: built by the composition root, passed in `NodeDeps`. */
export interface MinimizationSetup {
  /** The node's minimization secret (at least 32 bytes). Never logged. */
  readonly secret: Uint8Array;
  /** Profiles by name (the shipped examples and the node's own profiles directory). */
  readonly profiles: ReadonlyMap<string, Profile>;
  /** The grade this node gives its own sources when an object carries none. */
  readonly sourceGrade?: SourceGrade;
  /** The pseudonym epoch in force for an agreement; a new epoch rotates every token. */
  readonly epoch: (agreementId: string) => number;
}

/** One change as the decision log records it: where and what, never the value or the reason text. */
export interface LoggedChange {
  readonly path: string;
  readonly action: Change["action"];
  readonly kind?: string;
}

export type Minimized =
  | {
      readonly effect: "permit";
      readonly object: StixObject;
      readonly profile: string;
      readonly changes: readonly Change[];
    }
  | {
      readonly effect: "deny";
      readonly profile: string;
      readonly changes: readonly Change[];
      readonly reasons: readonly Reason[];
    };

/**
 * The grade an object carries in the Accord source-grade extension: undefined when it carries
 * none, `"malformed"` when the extension is there but is not a grade of its scheme.
 */
export function gradeOf(object: StixObject): SourceGrade | undefined | "malformed" {
  const exts = object.extensions;
  if (exts === undefined || exts === null || typeof exts !== "object" || Array.isArray(exts))
    return undefined;
  const raw = exts[SOURCE_GRADE_EXTENSION_ID];
  if (raw === undefined) return undefined;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return "malformed";
  const grade = { scheme: raw.scheme, reliability: raw.reliability, credibility: raw.credibility };
  if (!isSourceGrade(grade)) return "malformed";
  if (raw.extension_type !== "property-extension") return "malformed";
  if (raw.code !== undefined && raw.code !== `${grade.reliability}${String(grade.credibility)}`)
    return "malformed";
  return grade;
}

/** The object without the source-grade extension (what the accept decision is taken on). */
export function withoutGrade(object: StixObject): StixObject {
  const exts = object.extensions;
  if (exts === undefined || exts === null || typeof exts !== "object" || Array.isArray(exts))
    return object;
  if (!(SOURCE_GRADE_EXTENSION_ID in exts)) return object;
  const rest: JsonObject = {};
  for (const [k, v] of Object.entries(exts)) if (k !== SOURCE_GRADE_EXTENSION_ID) rest[k] = v;
  const out: Record<string, unknown> = { ...object };
  if (Object.keys(rest).length === 0) delete out.extensions;
  else out.extensions = rest;
  return out as StixObject;
}

/** Paths, actions and kinds only: what the decision log keeps of a report. */
export function loggedChanges(changes: readonly Change[]): LoggedChange[] {
  return changes.map((c) =>
    c.kind === undefined
      ? { path: c.path, action: c.action }
      : { path: c.path, action: c.action, kind: c.kind },
  );
}

const MAX_CACHED_KEYS = 1024;

export class Minimizer {
  private readonly keys = new Map<string, MinimizationKeys>();

  constructor(
    private readonly self: string,
    private readonly setup: MinimizationSetup | undefined,
  ) {}

  /** The profile a name refers to here, if any. */
  profile(name: string): Profile | undefined {
    return this.setup?.profiles.get(name);
  }

  /**
   * The grade that replaces the source of an object: its own grade extension, else (for objects
   * this node originated) the node's default. An object received from a partner travels on with
   * the grade its originator gave it, or none: this node does not know that source.
   */
  gradeFor(object: StixObject, originator: string): SourceGrade | undefined {
    const own = gradeOf(object);
    if (own !== undefined && own !== "malformed") return own;
    return originator === this.self ? this.setup?.sourceGrade : undefined;
  }

  /**
   * The id `id` travels under to partners of `agreementId` when a profile re-issues ids (the id
   * key is the agreement's, whatever the epoch); undefined when this node has no minimization
   * secret (then nothing is minimized and no id is re-issued).
   */
  reissuedId(agreementId: string, id: string): string | undefined {
    const setup = this.setup;
    if (setup === undefined) return undefined;
    return reissueId(this.keysFor(agreementId, setup.epoch(agreementId)), id);
  }

  private keysFor(agreementId: string, epoch: number): MinimizationKeys {
    const setup = this.setup;
    if (setup === undefined) throw new Error("no minimization secret");
    const k = `${agreementId}\u0000${String(epoch)}`;
    let keys = this.keys.get(k);
    if (keys === undefined) {
      keys = deriveMinimizationKeys(setup.secret, agreementId, epoch);
      if (this.keys.size >= MAX_CACHED_KEYS) this.keys.clear();
      this.keys.set(k, keys);
    }
    return keys;
  }

  /**
   * Minimize `object` under the profile `profileName` that agreement `agreement` names. Every way
   * this can fail (no secret, an unknown profile, a detector that refuses, a grade missing) is a
   * deny with reasons quoting `§minimization.profile`.
   */
  run(
    object: StixObject,
    agreement: AgreementRef,
    profileName: string,
    grade: SourceGrade | undefined,
  ): Minimized {
    const clause = `${agreement.id} v${String(agreement.version)} §minimization.profile`;
    const deny = (message: string, changes: readonly Change[] = []): Minimized => ({
      effect: "deny",
      profile: profileName,
      changes,
      reasons: [{ effect: "deny", clause, message }],
    });
    if (this.setup === undefined)
      return deny(
        `denied: \`${this.self}\` has no minimization secret, so nothing can be minimized for \`${agreement.id}\``,
      );
    const profile = this.setup.profiles.get(profileName);
    if (profile === undefined)
      return deny(
        `denied: the minimization profile \`${profileName}\` named by \`${agreement.id}\` v${String(agreement.version)} §minimization.profile is not known to \`${this.self}\``,
      );
    const epoch = this.setup.epoch(agreement.id);
    const result = minimize(object, profile, {
      agreementId: agreement.id,
      epoch,
      keys: this.keysFor(agreement.id, epoch),
      ...(grade === undefined ? {} : { sourceGrade: grade }),
    });
    if ("refused" in result)
      return {
        effect: "deny",
        profile: profileName,
        changes: result.report,
        reasons: result.refused.map((r) => ({
          effect: "deny" as const,
          clause,
          message: `refused: ${r.message} (profile \`${profileName}\`, ${r.code}) under \`${agreement.id}\` v${String(agreement.version)} §minimization.profile`,
        })),
      };
    return {
      effect: "permit",
      object: result.object,
      profile: profileName,
      changes: result.report,
    };
  }
}
