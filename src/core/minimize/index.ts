/**
 * Minimization and source protection (spec/minimization.md; VISION.md C5): profiles, detectors,
 * keyed pseudonyms, generalization (also inside STIX patterns) and source grades.
 */
export { minimize, allows } from "./minimize.js";
export type {
  MinimizeContext,
  MinimizeResult,
  Change,
  ChangeAction,
  Refusal,
  RefusalCode,
} from "./minimize.js";
export {
  parseProfile,
  compileProfile,
  profileSchema,
  STRICT_PROFILE_NAME,
  IMPLICIT_PROPERTIES,
  DETECTOR_ACTIONS,
} from "./profile.js";
export type { Profile, ProfileDocument, DetectorAction, TypeRule, AllowNode } from "./profile.js";
export {
  detect,
  DETECTOR_KINDS,
  ibanValid,
  luhnValid,
  mrzCheckDigit,
  base58checkValid,
  bech32Valid,
  ethereumValid,
} from "./detect.js";
export type { DetectorKind, Match, DetectOptions } from "./detect.js";
export { normalizeText } from "./normalize.js";
export {
  deriveMinimizationKeys,
  pseudonym,
  normalizeValue,
  reissueId,
  isReissued,
} from "./pseudonym.js";
export type { MinimizationKeys } from "./pseudonym.js";
export { parseIp, generalizeIp, formatIpv6 } from "./ip.js";
export type { IpNetwork } from "./ip.js";
export { parsePattern, printPattern, rewriteStrings } from "./pattern.js";
export type {
  ObservationExpr,
  ComparisonExpr,
  Comparison,
  Literal,
  ObjectPath,
  CompareOp,
} from "./pattern.js";
export {
  SOURCE_GRADE_EXTENSION_ID,
  SOURCE_GRADE_EXTENSION_DEFINITION,
  GRADE_SCHEMES,
  gradeCode,
  gradeExtension,
  isSourceGrade,
  parseGrade,
} from "./grades.js";
export type { SourceGrade, GradeScheme } from "./grades.js";
