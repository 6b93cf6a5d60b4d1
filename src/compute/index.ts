/**
 * CPU-bound work on worker threads (spec/match.md §bulk): pure functions of core and crypto run
 * in parallel across cores. Imports core, crypto and errors only.
 */
export {
  PSI_CHUNK,
  PsiPool,
  createParallelPsiParty,
  type ParallelPsiParty,
  type PsiPoolOptions,
} from "./psi-pool.js";
