/**
 * The agreement document (spec/agreement.md, VISION.md C3). One zod schema is the source of both
 * the validator and the published JSON Schema (spec/agreement.schema.json), so they cannot drift.
 *
 * Risks: an agreement arrives from a partner as much as from an operator, so every member is
 * bounded (lengths, counts) and unknown members are errors; a clause the engine does not know is
 * a clause it would silently ignore. Cross-member rules (a phase naming a type the document does
 * not list, a purpose both permitted and prohibited) are checked in `superRefine`, reported
 * together with the shape errors.
 *
 * Every member added after the minimal form has a default that denies or restricts, so a shorter
 * document never grants more than a longer one.
 */
import { z } from "zod";

export const TLP_LEVELS = ["clear", "green", "amber", "amber+strict", "red"] as const;
export type TlpLevel = (typeof TLP_LEVELS)[number];

/** FIRST PAP levels (Permissible Actions Protocol), least to most restrictive. */
export const PAP_LEVELS = ["clear", "green", "amber", "red"] as const;
export type PapLevel = (typeof PAP_LEVELS)[number];

/** Handling codes in the spirit of SIENA's H0-H3, least to most restrictive. */
export const HANDLING_CODES = ["H0", "H1", "H2", "H3"] as const;
export type HandlingCode = (typeof HANDLING_CODES)[number];

/** The purpose vocabulary; agreements may only name these (new purposes are a spec change). */
export const PURPOSES = [
  "cyber-defence",
  "counter-terrorism",
  "aml-cft",
  "serious-crime",
  "child-protection",
  "border-security",
  "judicial-proceedings",
  "immigration-enforcement",
  "political-monitoring",
  "research",
] as const;
export type Purpose = (typeof PURPOSES)[number];

export const VIOLATIONS = [
  "purpose-breach",
  "onward-without-consent",
  "retention-breach",
  "marking-breach",
  "budget-exceeded",
  "prohibited-subject",
] as const;
export const RESPONSES = ["notify", "suspend-party", "suspend-agreement", "terminate"] as const;

const MAX_LIST = 256;
const slug = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/,
    "expected a lowercase slug of letters, digits and hyphens",
  );
const nodeId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    "expected a node id of letters, digits, `.`, `_` or `-`",
  );
const stixType = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$/, "expected a STIX type name");
const propertyName = z.string().regex(/^[a-z0-9_]{1,250}$/, "expected a STIX property name");
const text = z.string().min(1).max(2000);
const purpose = z.enum(PURPOSES, {
  error: `expected a purpose from the vocabulary: ${PURPOSES.join(", ")}`,
});
const thumbprint = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]{43}$/,
    "expected an RFC 7638 SHA-256 thumbprint (43 base64url characters)",
  );
/** YYYY-MM-DD and a real calendar day (2026-02-30 is refused). */
const isoDate = z
  .string({
    error: "expected a date as YYYY-MM-DD (quote it if your editor turns it into a timestamp)",
  })
  .refine(
    (s) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
      const t = Date.parse(`${s}T00:00:00Z`);
      return !Number.isNaN(t) && new Date(t).toISOString().startsWith(s);
    },
    { error: "expected a date as YYYY-MM-DD that exists in the calendar" },
  )
  .meta({ format: "date" });
const days = z.int().min(1).max(36500);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_LIST);

export const agreementSchema = z
  .strictObject({
    agreement: slug.describe("the agreement's stable id"),
    version: z.int().min(1).max(1_000_000).describe("incremented on every amendment"),
    title: z.string().min(1).max(200),
    supersedes: z
      .int()
      .min(1)
      .optional()
      .describe("the version this one amends; it is superseded on this version's effective_from"),
    parties: z
      .array(
        z.strictObject({
          node: nodeId,
          name: z.string().min(1).max(200).optional(),
          key: thumbprint.optional().describe("the thumbprint of the party's Ed25519 signing key"),
        }),
      )
      .min(2, "an agreement needs at least two parties")
      .max(64)
      .describe("the nodes bound by the agreement"),
    purposes: z.strictObject({
      permitted: list(purpose).min(1, "at least one purpose must be permitted"),
      prohibited: list(purpose).default([]),
    }),
    data: z.strictObject({
      types: z
        .record(
          stixType,
          z.strictObject({
            properties: list(propertyName).describe(
              "top-level properties that may travel; type, spec_version, id, created and modified always do",
            ),
            retention_days: days.optional().describe("overrides retention.default_days"),
          }),
        )
        .describe("the STIX types that may travel, each with its property allowlist"),
      subjects: z
        .strictObject({
          permitted: list(slug)
            .optional()
            .describe("data-subject categories that may travel; absent: any not in `never`"),
          never: list(slug)
            .default([])
            .describe("sensitive categories that never travel, whatever else is permitted"),
        })
        .default({ never: [] }),
    }),
    markings: z.strictObject({
      tlp_ceiling: z.enum(TLP_LEVELS).describe("the highest TLP 2.0 level that may travel"),
      unmarked_as: z
        .enum(TLP_LEVELS)
        .default("amber")
        .describe("the level assumed for an object without a TLP marking"),
      pap_ceiling: z
        .enum(PAP_LEVELS)
        .default("amber")
        .describe("the most restrictive PAP level a recipient will honour"),
    }),
    handling: z
      .strictObject({
        code: z.enum(HANDLING_CODES).default("H2"),
        judicial_use: z
          .enum(["permitted", "with-permission", "prohibited"])
          .default("with-permission")
          .describe("use in judicial proceedings"),
        dissemination: z
          .enum(["permitted", "with-permission", "prohibited"])
          .default("with-permission"),
        conditions: list(text).default([]).describe("free-text conditions that travel with data"),
      })
      .default({
        code: "H2",
        judicial_use: "with-permission",
        dissemination: "with-permission",
        conditions: [],
      }),
    retention: z.strictObject({ default_days: days }),
    onward_sharing: z
      .strictObject({
        allowed: z.boolean(),
        max_hops: z.int().min(1).max(8).default(1),
      })
      .default({ allowed: false, max_hops: 1 })
      .describe(
        "off by default; when allowed, each hop still needs the originator's signed consent",
      ),
    minimization: z
      .strictObject({ profile: slug.describe("the minimization profile objects pass through") })
      .default({ profile: "strict" })
      .describe("the minimization profile (examples/profiles/); absent: `strict`"),
    queries: z
      .strictObject({
        types: list(stixType).default([]).describe("types that may be matched hit/no-hit"),
        budget_per_day: z.int().min(0).max(10_000_000).default(0),
        budget_per_burst: z
          .int()
          .min(0)
          .max(10_000_000)
          .optional()
          .describe("per partner per UTC minute; absent: a quarter of budget_per_day, at least 1"),
        release: z
          .enum(["never", "on-approval", "automatic"])
          .default("on-approval")
          .describe("what follows a hit"),
      })
      .default({ types: [], budget_per_day: 0, release: "on-approval" }),
    decision_rights: z
      .strictObject({
        release: list(slug).default([]).describe("roles that may approve a release after a hit"),
        escalation: list(
          z.strictObject({ role: slug, within_hours: z.int().min(1).max(8760) }),
        ).default([]),
      })
      .default({ release: [], escalation: [] }),
    phase: z
      .strictObject({
        current: slug,
        phases: z.record(slug, z.strictObject({ types: list(stixType) })),
      })
      .optional()
      .describe("pilot, expanded, ...: the types the current phase lets travel"),
    oversight: list(z.strictObject({ name: z.string().min(1).max(200), node: nodeId.optional() }))
      .default([])
      .describe("bodies that may sanction (suspend) the agreement"),
    violations: list(
      z.strictObject({ violation: z.enum(VIOLATIONS), response: z.enum(RESPONSES) }),
    ).default([]),
    effective_from: isoDate,
    sunset: isoDate.describe("sharing under the agreement stops at 00:00 UTC on this date"),
  })
  .superRefine((a, ctx) => {
    const issue = (path: (string | number)[], message: string) => {
      ctx.addIssue({ code: "custom", path, message });
    };
    const seen = new Set<string>();
    a.parties.forEach((p, i) => {
      if (seen.has(p.node)) issue(["parties", i, "node"], `party \`${p.node}\` is listed twice`);
      seen.add(p.node);
    });
    a.purposes.prohibited.forEach((p, i) => {
      if (a.purposes.permitted.includes(p))
        issue(["purposes", "prohibited", i], `purpose \`${p}\` is both permitted and prohibited`);
    });
    const permittedSubjects = a.data.subjects.permitted;
    a.data.subjects.never.forEach((s, i) => {
      if (permittedSubjects?.includes(s) === true)
        issue(["data", "subjects", "never", i], `category \`${s}\` is both permitted and never`);
    });
    if (a.phase !== undefined) {
      if (!(a.phase.current in a.phase.phases))
        issue(["phase", "current"], `phase \`${a.phase.current}\` is not among \`phase.phases\``);
      for (const [name, ph] of Object.entries(a.phase.phases))
        ph.types.forEach((t, i) => {
          if (!(t in a.data.types))
            issue(
              ["phase", "phases", name, "types", i],
              `type \`${t}\` is not listed in \`data.types\``,
            );
        });
    }
    if (a.supersedes !== undefined && a.supersedes >= a.version)
      issue(["supersedes"], "a version can only supersede an earlier one");
    if (a.sunset <= a.effective_from)
      issue(["sunset"], "the sunset must come after `effective_from`");
  });

export type AgreementDocument = z.output<typeof agreementSchema>;

/** The JSON Schema published for agreement documents (draft 2020-12). */
export function agreementJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(agreementSchema, { target: "draft-2020-12", io: "input" });
}
