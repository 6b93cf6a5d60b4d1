/**
 * RFC 9497 OPRF/VOPRF/POPRF in the ristretto255-SHA512 suite over libsodium (constant time in
 * every secret scalar), with RFC 9380 `expand_message_xmd` hashing. spec/match.md describes how
 * Accord uses it; spec/vectors/rfc9497-ristretto255-sha512.json holds the appendix vectors.
 * Pure: no file or network I/O. Call `await loadOprfSuite()` (or `createPoprfServer`) once.
 */
export {
  MAX_BATCH,
  OPRF_SUITE,
  OUTPUT_BYTES,
  PROOF_BYTES,
  Oprf,
  Poprf,
  Voprf,
  createPoprfServer,
  loadOprfSuite,
  oprfSuiteOf,
  type BlindOptions,
  type BlindedInput,
  type OprfKeyPair,
  type OprfMode,
  type OprfSuite,
  type PoprfBlindedInput,
  type PoprfServer,
  type ProofOptions,
  type ProvenEvaluation,
} from "./oprf.js";
export {
  ELEMENT_BYTES,
  SCALAR_BYTES,
  Ristretto255,
  expandMessageXmd,
  loadGroup,
  loadGroupOn,
  loadSodium,
  ristrettoBackendChoice,
  useRistrettoBackend,
} from "./group.js";
export { backendChoice, loadNativeAddon, type BackendChoice } from "./native.js";
