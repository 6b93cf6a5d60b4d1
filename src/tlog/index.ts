/**
 * Accord's transparency-log leaf (spec/tlog.md): RFC 9162 §2.1 Merkle hashing, an incremental
 * tree, inclusion and consistency proofs (generation over stored subtree hashes, defensive
 * verification), C2SP tlog-tiles coordinates, C2SP signed notes, tlog-checkpoint and
 * tlog-cosignature (Ed25519). Pure: no file or network I/O; storage and HTTP build on it.
 */
export {
  EMPTY_ROOT,
  HASH_SIZE,
  equalBytes,
  leafHash,
  leafHashOfText,
  merkleTreeHash,
  nodeHash,
} from "./hash.js";
export { CompactTree, MemoryTree, type NodeReader, type NodeSink } from "./tree.js";
export {
  MAX_PROOF_LENGTH,
  assembleProof,
  consistencyPlan,
  consistencyProof,
  inclusionPlan,
  inclusionProof,
  rootAt,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
  type NodeId,
  type ProofPlan,
} from "./proof.js";
export {
  MAX_ENTRY_BYTES,
  TILE_HEIGHT,
  TILE_WIDTH,
  decodeEntryBundle,
  encodeEntryBundle,
  nodeFromTile,
  parseTilePath,
  tileOfNode,
  tilePath,
  tileNodeReader,
  tileWidth,
  type NodeInTile,
  type TileId,
} from "./tiles.js";
export {
  ED25519_TYPE,
  addNoteSignatures,
  decodeBase64,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  encodeBase64,
  encodeSignerKey,
  encodeVerifierKey,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  type NoteLimits,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  type OpenedNote,
  type ParsedVerifierKey,
} from "./note.js";
export {
  COSIGNATURE_TYPE,
  cosignatureTimestamp,
  cosignedMessage,
  ed25519CosignatureVerifier,
  ed25519Cosigner,
  verifierFromKey,
} from "./cosignature.js";
export {
  MAX_EXTENSION_LINES,
  checkConsistency,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type ConsistencyVerdict,
  type InconsistencyReason,
  type OpenedCheckpoint,
} from "./checkpoint.js";
