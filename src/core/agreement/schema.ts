/**
 * The agreement document, minimal form (spec/agreement.md). One zod schema is the source of both
 * the validator and the published JSON Schema (spec/agreement.schema.json), so they cannot drift.
 *
 * The full language of VISION.md C3 (handling codes, budgets, decision rights, lifecycle and
 * signatures) extends this document; every field here keeps its meaning.
 */
import { z } from "zod";

export const TLP_LEVELS = ["clear", "green", "amber", "amber+strict", "red"] as const;
export type TlpLevel = (typeof TLP_LEVELS)[number];

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
const isoDate = z.iso.date({ error: "expected a date as YYYY-MM-DD" });

export const agreementSchema = z
  .strictObject({
    agreement: slug.describe("the agreement's stable id"),
    version: z.int().min(1).describe("incremented on every amendment"),
    title: z.string().min(1),
    parties: z
      .array(z.strictObject({ node: nodeId, name: z.string().min(1).optional() }))
      .min(2, "an agreement needs at least two parties")
      .describe("the nodes bound by the agreement"),
    purposes: z.strictObject({
      permitted: z.array(slug).min(1, "at least one purpose must be permitted"),
      prohibited: z.array(slug).default([]),
    }),
    data: z.strictObject({
      types: z
        .record(
          stixType,
          z.strictObject({
            properties: z
              .array(propertyName)
              .describe(
                "top-level properties that may travel; type, spec_version, id, created and modified always do",
              ),
          }),
        )
        .describe("the STIX types that may travel, each with its property allowlist"),
    }),
    markings: z.strictObject({
      tlp_ceiling: z.enum(TLP_LEVELS).describe("the highest TLP 2.0 level that may travel"),
      unmarked_as: z
        .enum(TLP_LEVELS)
        .default("amber")
        .describe("the level assumed for an object without a TLP marking"),
    }),
    retention: z.strictObject({
      default_days: z.int().min(1).max(36500),
    }),
    onward_sharing: z.strictObject({ allowed: z.boolean() }).default({ allowed: false }),
    effective_from: isoDate,
    sunset: isoDate.describe("sharing under the agreement stops at 00:00 UTC on this date"),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.parties.forEach((p, i) => {
      if (seen.has(p.node))
        ctx.addIssue({
          code: "custom",
          path: ["parties", i, "node"],
          message: `party \`${p.node}\` is listed twice`,
        });
      seen.add(p.node);
    });
    a.purposes.prohibited.forEach((p, i) => {
      if (a.purposes.permitted.includes(p))
        ctx.addIssue({
          code: "custom",
          path: ["purposes", "prohibited", i],
          message: `purpose \`${p}\` is both permitted and prohibited`,
        });
    });
    if (a.sunset <= a.effective_from)
      ctx.addIssue({
        code: "custom",
        path: ["sunset"],
        message: "the sunset must come after `effective_from`",
      });
  });

export type AgreementDocument = z.output<typeof agreementSchema>;

/** The JSON Schema published for agreement documents (draft 2020-12). */
export function agreementJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(agreementSchema, { target: "draft-2020-12", io: "input" });
}
