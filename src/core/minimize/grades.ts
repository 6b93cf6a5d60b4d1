/**
 * Source grades and the Accord source-grade extension (spec/minimization.md §source protection).
 *
 * A protected source is replaced by how far it is trusted, never by who it is: the Admiralty (NATO
 * AJP-2.1) system grades reliability A–F and credibility 1–6; the Europol 4×4 system (used in
 * SIENA handling) grades source reliability A, B, C or X and information credibility 1–4. The
 * grade travels as a STIX 2.1 property extension (§7.3) defined by an extension-definition object,
 * like Accord's provenance (../provenance.ts).
 */
import type { StixObject } from "../stix/object.js";
import { ACCORD_IDENTITY_ID } from "../provenance.js";

export const SOURCE_GRADE_EXTENSION_ID =
  "extension-definition--3c9e6f1a-2b4d-4e8a-9c7b-5d1f0a2e4b6c";

export const SOURCE_GRADE_EXTENSION_DEFINITION: StixObject = Object.freeze({
  type: "extension-definition",
  spec_version: "2.1",
  id: SOURCE_GRADE_EXTENSION_ID,
  created_by_ref: ACCORD_IDENTITY_ID,
  created: "2026-11-26T00:00:00.000Z",
  modified: "2026-11-26T00:00:00.000Z",
  name: "Accord source grade",
  description:
    "How reliable the withheld source is and how credible the information, instead of the source.",
  schema: "https://accord.invalid/spec/minimization.md#source-grade-extension",
  version: "1.0.0",
  extension_types: ["property-extension"],
});

export const GRADE_SCHEMES = ["admiralty", "europol-4x4"] as const;
export type GradeScheme = (typeof GRADE_SCHEMES)[number];

export interface SourceGrade {
  readonly scheme: GradeScheme;
  /** Admiralty A–F; Europol A, B, C, X. */
  readonly reliability: string;
  /** Admiralty 1–6; Europol 1–4. */
  readonly credibility: number;
}

const RELIABILITY: Readonly<Record<GradeScheme, readonly string[]>> = {
  admiralty: ["A", "B", "C", "D", "E", "F"],
  "europol-4x4": ["A", "B", "C", "X"],
};
const CREDIBILITY_MAX: Readonly<Record<GradeScheme, number>> = { admiralty: 6, "europol-4x4": 4 };

export function isSourceGrade(g: unknown): g is SourceGrade {
  if (g === null || typeof g !== "object") return false;
  const { scheme, reliability, credibility } = g as Record<string, unknown>;
  if (scheme !== "admiralty" && scheme !== "europol-4x4") return false;
  return (
    typeof reliability === "string" &&
    RELIABILITY[scheme].includes(reliability) &&
    typeof credibility === "number" &&
    Number.isInteger(credibility) &&
    credibility >= 1 &&
    credibility <= CREDIBILITY_MAX[scheme]
  );
}

/** `B2`: the code analysts read. */
export function gradeCode(g: SourceGrade): string {
  return `${g.reliability}${String(g.credibility)}`;
}

/** Parse `B2` under a scheme; undefined when it is not a grade of that scheme. */
export function parseGrade(scheme: GradeScheme, code: string): SourceGrade | undefined {
  const m = /^([A-FX])([1-6])$/.exec(code);
  if (m === null) return undefined;
  const g = { scheme, reliability: m[1] ?? "", credibility: Number(m[2]) };
  return isSourceGrade(g) ? g : undefined;
}

/** The extension's content, as it appears under `extensions[SOURCE_GRADE_EXTENSION_ID]`. */
export function gradeExtension(g: SourceGrade): {
  extension_type: "property-extension";
  scheme: GradeScheme;
  reliability: string;
  credibility: number;
  code: string;
} {
  return {
    extension_type: "property-extension",
    scheme: g.scheme,
    reliability: g.reliability,
    credibility: g.credibility,
    code: gradeCode(g),
  };
}
