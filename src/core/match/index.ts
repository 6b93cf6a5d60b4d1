/**
 * Private hit/no-hit matching, the pure core (spec/match.md): identifier normalisation,
 * the responder's Golomb-compressed set over its POPRF outputs, and Diffie-Hellman PSI over
 * ristretto255. The OPRF itself lives in src/crypto/oprf.
 */
export {
  IDENTIFIER_KINDS,
  MAX_IDENTIFIER_LENGTH,
  isIdentifierKind,
  matchInput,
  normalizeEmail,
  normalizeFileHash,
  normalizeIban,
  normalizeIdentifier,
  normalizePassport,
  normalizePhone,
  normalizeWallet,
  type Identifier,
  type IdentifierKind,
  type NormalizeOptions,
} from "./normalize.js";
export {
  GCS_DEFAULT_P,
  GCS_MAGIC,
  GCS_MAX_ITEMS,
  GCS_MAX_P,
  GCS_VERSION,
  buildGcs,
  parseGcs,
  type BuildGcsOptions,
  type GcsFilter,
} from "./filter.js";
export {
  PSI_DST_PREFIX,
  checkPsiKey,
  createPsiParty,
  intersect,
  intersectPacked,
  intersectionSize,
  packElements,
  psiDst,
  psiHashAndMultiply,
  psiMultiplyPeer,
  shufflePacked,
  unpackElements,
  type PsiOptions,
  type PsiParty,
} from "./psi.js";
export { matchInfo } from "./info.js";
