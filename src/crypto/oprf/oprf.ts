/**
 * RFC 9497 (Oblivious Pseudorandom Functions Using Prime-Order Groups), suite ristretto255-SHA512
 * (§4.1), in its three modes: OPRF (mode 0x00, §3.3.1), VOPRF (0x01, §3.3.2) and POPRF (0x02,
 * §3.3.3), with DeriveKeyPair (§3.2.1) and the batched DLEQ proof of §2.2 (GenerateProof with
 * ComputeCompositesFast on the server, VerifyProof with ComputeComposites on the client).
 *
 * Accord uses POPRF: the public info binds an evaluation to one agreement and key epoch
 * (spec/match.md), and the proof lets a requester check that the responder used the key it
 * published rather than a per-requester key that would tag it.
 *
 * Risks:
 * - Timing: every multiplication by the server key, by the POPRF tweak and by the client's blind
 *   runs in libsodium (constant time in the scalar). Nothing here branches on a secret.
 * - Peer input is attacker-controlled: blinded elements (server side), evaluated elements and
 *   proofs (client side) are deserialized with checks (canonical, not the identity) and refused
 *   with `ERR_MALFORMED_INPUT`; a proof that does not verify is `ERR_SIGNATURE_INVALID`
 *   (deliberately vague: it says nothing about which check failed).
 * - The overrides `blind` and `proofScalar` exist so the RFC vectors can be replayed; production
 *   callers leave them out and get fresh randomness from libsodium.
 *
 * Flow (POPRF): client `blind(input, info, pkS)` → blindedElement; server
 * `blindEvaluate(skS, [blindedElement…], info)` → evaluatedElements + proof; client
 * `finalize(inputs, blinds, evaluatedElements, blindedElements, proof, info, tweakedKey)` → one
 * 64-byte output per input, equal to the server's `evaluate(skS, input, info)`.
 */
import { createHash } from "node:crypto";
import { AccordError } from "../../errors.js";
import {
  ELEMENT_BYTES,
  SCALAR_BYTES,
  concat,
  framed,
  i2osp2,
  loadGroup,
  utf8,
  type Ristretto255,
} from "./group.js";

export const OPRF_SUITE = "ristretto255-SHA512";
/** Nh of RFC 9497 §4.1: the length of an output. */
export const OUTPUT_BYTES = 64;
/** A serialized proof: the scalars c and s. */
export const PROOF_BYTES = 2 * SCALAR_BYTES;
/** Composite indices are encoded as I2OSP(i, 2) (§2.2.1), which bounds a batch. */
export const MAX_BATCH = 0xffff;

export type OprfMode = "oprf" | "voprf" | "poprf";

export interface OprfKeyPair {
  /** skS, a canonical non-zero scalar (32 bytes, little-endian). Keep it secret. */
  readonly secretKey: Uint8Array;
  /** pkS = skS * G, a ristretto255 element (32 bytes). */
  readonly publicKey: Uint8Array;
}

export interface BlindedInput {
  /** The client's secret blind; keep it until `finalize`. */
  readonly blind: Uint8Array;
  /** What the client sends to the server. */
  readonly blindedElement: Uint8Array;
}

export interface PoprfBlindedInput extends BlindedInput {
  /** pkS + m * G for the info; the client keeps it to verify the proof. */
  readonly tweakedKey: Uint8Array;
}

export interface ProvenEvaluation {
  readonly evaluatedElements: Uint8Array[];
  /** One batched DLEQ proof over all elements (c || s). */
  readonly proof: Uint8Array;
}

export interface BlindOptions {
  /** A fixed blind, for replaying test vectors only. */
  readonly blind?: Uint8Array;
}

export interface ProofOptions {
  /** A fixed proof nonce r, for replaying test vectors only. */
  readonly proofScalar?: Uint8Array;
}

const MODE_ID: Record<OprfMode, number> = { oprf: 0x00, voprf: 0x01, poprf: 0x02 };
const LABEL_FINALIZE = utf8("Finalize");
const LABEL_CHALLENGE = utf8("Challenge");
const LABEL_COMPOSITE = utf8("Composite");
const LABEL_INFO = utf8("Info");

function sha512(...parts: readonly Uint8Array[]): Uint8Array {
  const h = createHash("sha512");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function proofFailed(): AccordError {
  return new AccordError("ERR_SIGNATURE_INVALID", "the evaluation proof did not verify");
}

function checkBytes(value: unknown, what: string, max = 0xffff): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (value.length > max) throw new RangeError(`${what} must be at most ${String(max)} bytes`);
}

function checkBatch(count: number, what: string): void {
  if (count < 1 || count > MAX_BATCH) {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `a batch holds 1 to ${String(MAX_BATCH)} ${what}, got ${String(count)}`,
    );
  }
}

function sameLength(
  what: string,
  expected: number,
  ...lists: readonly (readonly unknown[])[]
): void {
  for (const list of lists) {
    if (list.length !== expected) {
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} do not match the batch size`);
    }
  }
}

/** The parts of RFC 9497 every mode shares, bound to one context string (§3.1). */
class Context {
  readonly g: Ristretto255;
  readonly mode: OprfMode;
  readonly hashToGroupDst: Uint8Array;
  readonly hashToScalarDst: Uint8Array;
  readonly deriveKeyPairDst: Uint8Array;
  readonly seedDst: Uint8Array;

  constructor(g: Ristretto255, mode: OprfMode) {
    this.g = g;
    this.mode = mode;
    const context = concat(utf8("OPRFV1-"), Uint8Array.of(MODE_ID[mode]), utf8(`-${OPRF_SUITE}`));
    this.hashToGroupDst = concat(utf8("HashToGroup-"), context);
    this.hashToScalarDst = concat(utf8("HashToScalar-"), context);
    this.deriveKeyPairDst = concat(utf8("DeriveKeyPair"), context);
    this.seedDst = concat(utf8("Seed-"), context);
  }

  secretKey(value: unknown, what = "an OPRF secret key"): Uint8Array {
    if (
      !(value instanceof Uint8Array) ||
      !this.g.isCanonicalScalar(value) ||
      this.g.isZeroScalar(value)
    ) {
      throw new RangeError(`${what} is a canonical non-zero 32-byte scalar`);
    }
    return value;
  }

  generateKeyPair(): OprfKeyPair {
    const secretKey = this.g.randomScalar();
    return { secretKey, publicKey: this.g.multGen(secretKey) };
  }

  /** DeriveKeyPair, §3.2.1. */
  deriveKeyPair(seed: Uint8Array, info: Uint8Array): OprfKeyPair {
    checkBytes(seed, "seed", SCALAR_BYTES);
    if (seed.length !== SCALAR_BYTES) throw new RangeError("a key seed is 32 bytes");
    checkBytes(info, "key info");
    const deriveInput = concat(seed, framed(info));
    for (let counter = 0; counter <= 255; counter++) {
      const secretKey = this.g.hashToScalar(
        concat(deriveInput, Uint8Array.of(counter)),
        this.deriveKeyPairDst,
      );
      if (!this.g.isZeroScalar(secretKey)) {
        return { secretKey, publicKey: this.g.multGen(secretKey) };
      }
    }
    // Unreachable in practice: 256 zero scalars in a row from a hash.
    throw new RangeError("the seed did not derive a key");
  }

  inputElement(input: Uint8Array): Uint8Array {
    checkBytes(input, "an OPRF input");
    const element = this.g.hashToGroup(input, this.hashToGroupDst);
    if (this.g.isIdentity(element)) {
      throw new AccordError("ERR_BAD_REQUEST", "the input maps to the identity element");
    }
    return element;
  }

  blind(input: Uint8Array, options: BlindOptions = {}): BlindedInput {
    const element = this.inputElement(input);
    const blind =
      options.blind === undefined
        ? this.g.randomScalar()
        : this.secretKey(options.blind, "a blind");
    return { blind, blindedElement: this.g.mult(blind, element) };
  }

  /** HashToScalar of a "Info"-framed public info (§3.3.3): the POPRF tweak m. */
  infoScalar(info: Uint8Array): Uint8Array {
    checkBytes(info, "public info");
    return this.g.hashToScalar(concat(LABEL_INFO, framed(info)), this.hashToScalarDst);
  }

  /**
   * The composite scalars d_i of ComputeComposites (§2.2.1), packed, for packed `c` and `d` of n
   * elements each.
   */
  compositeScalars(b: Uint8Array, c: Uint8Array, d: Uint8Array): Uint8Array {
    const seed = sha512(framed(b), framed(this.seedDst));
    const n = c.length / ELEMENT_BYTES;
    // framed(seed) || I2OSP(i, 2) || framed(c_i) || framed(d_i) || "Composite"
    const size = 2 + seed.length + 2 + 2 * (2 + ELEMENT_BYTES) + LABEL_COMPOSITE.length;
    const template = new Uint8Array(size);
    template.set(framed(seed), 0);
    const at = 2 + seed.length;
    template.set(i2osp2(ELEMENT_BYTES), at + 2);
    template.set(i2osp2(ELEMENT_BYTES), at + 4 + ELEMENT_BYTES);
    template.set(LABEL_COMPOSITE, size - LABEL_COMPOSITE.length);
    const msgs: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      const msg = template.slice();
      msg.set(i2osp2(i), at);
      msg.set(c.subarray(i * ELEMENT_BYTES, (i + 1) * ELEMENT_BYTES), at + 4);
      msg.set(d.subarray(i * ELEMENT_BYTES, (i + 1) * ELEMENT_BYTES), at + 6 + ELEMENT_BYTES);
      msgs.push(msg);
    }
    return this.g.hashToScalarMany(msgs, this.hashToScalarDst);
  }

  challenge(
    b: Uint8Array,
    m: Uint8Array,
    z: Uint8Array,
    t2: Uint8Array,
    t3: Uint8Array,
  ): Uint8Array {
    return this.g.hashToScalar(
      concat(framed(b), framed(m), framed(z), framed(t2), framed(t3), LABEL_CHALLENGE),
      this.hashToScalarDst,
    );
  }

  /** GenerateProof (§2.2.1) with A = G, using ComputeCompositesFast; `c`, `d` packed. */
  generateProof(
    k: Uint8Array,
    b: Uint8Array,
    c: Uint8Array,
    d: Uint8Array,
    options: ProofOptions,
  ): Uint8Array {
    const m = this.g.linearCombinationMany(this.compositeScalars(b, c, d), c);
    const z = this.g.mult(k, m);
    const r =
      options.proofScalar === undefined
        ? this.g.randomScalar()
        : this.secretKey(options.proofScalar, "a proof nonce");
    const t2 = this.g.multGen(r);
    const t3 = this.g.mult(r, m);
    const challenge = this.challenge(b, m, z, t2, t3);
    const s = this.g.scalarSub(r, this.g.scalarMul(challenge, k));
    return concat(challenge, s);
  }

  /** VerifyProof (§2.2.2) with A = G; throws `ERR_SIGNATURE_INVALID` on any failure. */
  verifyProof(
    b: Uint8Array,
    c: readonly Uint8Array[],
    d: readonly Uint8Array[],
    proof: unknown,
  ): void {
    if (!(proof instanceof Uint8Array) || proof.length !== PROOF_BYTES) throw proofFailed();
    const challenge = proof.slice(0, SCALAR_BYTES);
    const s = proof.slice(SCALAR_BYTES);
    if (!this.g.isCanonicalScalar(challenge) || !this.g.isCanonicalScalar(s)) throw proofFailed();
    let expected: Uint8Array;
    try {
      const packedC = pack(c);
      const packedD = pack(d);
      const scalars = this.compositeScalars(b, packedC, packedD);
      const m = this.g.linearCombinationMany(scalars, packedC);
      const z = this.g.linearCombinationMany(scalars, packedD);
      const t2 = this.g.add(this.g.multGen(s), this.g.mult(challenge, b));
      const t3 = this.g.add(this.g.mult(s, m), this.g.mult(challenge, z));
      expected = this.challenge(b, m, z, t2, t3);
    } catch {
      // libsodium refuses identity products; a crafted proof can force one.
      throw proofFailed();
    }
    if (!this.g.equal(expected, challenge)) throw proofFailed();
  }

  unblind(blind: Uint8Array, evaluatedElement: Uint8Array): Uint8Array {
    return this.g.mult(this.g.scalarInvert(this.secretKey(blind, "a blind")), evaluatedElement);
  }

  /** The Finalize hash; `info` is present in POPRF only. */
  output(input: Uint8Array, info: Uint8Array | undefined, element: Uint8Array): Uint8Array {
    return info === undefined
      ? sha512(framed(input), framed(element), LABEL_FINALIZE)
      : sha512(framed(input), framed(info), framed(element), LABEL_FINALIZE);
  }

  peerElements(list: unknown, what: string): Uint8Array[] {
    if (!Array.isArray(list))
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} are not a list`);
    checkBatch(list.length, what);
    return list.map((e: unknown) => this.g.deserializeElement(e, what.replace(/s$/, "")));
  }

  /**
   * A peer's list of elements (attacker-controlled), packed n × 32 bytes after the type, length
   * and batch-size checks; each element's encoding is checked by `multiplyPeer`.
   */
  peerPacked(list: unknown, what: string): Uint8Array {
    if (!Array.isArray(list))
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} are not a list`);
    checkBatch(list.length, what);
    const packed = new Uint8Array(list.length * ELEMENT_BYTES);
    const one = what.replace(/s$/, "");
    list.forEach((e: unknown, i) => {
      if (!(e instanceof Uint8Array) || e.length !== ELEMENT_BYTES) {
        throw new AccordError("ERR_MALFORMED_INPUT", `the ${one} is not a valid group element`);
      }
      packed.set(e, i * ELEMENT_BYTES);
    });
    return packed;
  }

  /** `k * P_i` for a peer's packed elements, refusing any that is not a valid group element. */
  multiplyPeer(k: Uint8Array, packed: Uint8Array, what: string): Uint8Array {
    const out = this.g.multManyOrIndex(k, packed);
    if (typeof out === "number") {
      throw new AccordError("ERR_MALFORMED_INPUT", `the ${what} is not a valid group element`);
    }
    return out;
  }
}

function pack(list: readonly Uint8Array[]): Uint8Array {
  const packed = new Uint8Array(list.length * ELEMENT_BYTES);
  list.forEach((e, i) => {
    if (e.length !== ELEMENT_BYTES) throw new RangeError("an element is 32 bytes");
    packed.set(e, i * ELEMENT_BYTES);
  });
  return packed;
}

function unpack(packed: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < packed.length; at += ELEMENT_BYTES) {
    out.push(packed.slice(at, at + ELEMENT_BYTES));
  }
  return out;
}

/** OPRF mode (0x00, §3.3.1): no proof; the client cannot tell which key was used. */
export class Oprf {
  readonly #ctx: Context;

  constructor(g: Ristretto255) {
    this.#ctx = new Context(g, "oprf");
  }

  generateKeyPair(): OprfKeyPair {
    return this.#ctx.generateKeyPair();
  }

  deriveKeyPair(seed: Uint8Array, info: Uint8Array): OprfKeyPair {
    return this.#ctx.deriveKeyPair(seed, info);
  }

  blind(input: Uint8Array, options?: BlindOptions): BlindedInput {
    return this.#ctx.blind(input, options);
  }

  /** Server: `skS * blindedElement` for each element (attacker-controlled input). */
  blindEvaluate(secretKey: Uint8Array, blindedElements: readonly unknown[]): Uint8Array[] {
    const k = this.#ctx.secretKey(secretKey);
    const blinded = this.#ctx.peerPacked(blindedElements, "blinded elements");
    return unpack(this.#ctx.multiplyPeer(k, blinded, "blinded element"));
  }

  finalize(
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    evaluatedElements: readonly unknown[],
  ): Uint8Array[] {
    const evaluated = this.#ctx.peerElements(evaluatedElements, "evaluated elements");
    sameLength("inputs and blinds", evaluated.length, inputs, blinds);
    return evaluated.map((e, i) => {
      const input = inputs[i] ?? new Uint8Array();
      return this.#ctx.output(
        input,
        undefined,
        this.#ctx.unblind(blinds[i] ?? new Uint8Array(), e),
      );
    });
  }

  /** Server-side, non-interactive: the output the client would get for `input`. */
  evaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array {
    const k = this.#ctx.secretKey(secretKey);
    return this.#ctx.output(input, undefined, this.#ctx.g.mult(k, this.#ctx.inputElement(input)));
  }
}

/** VOPRF mode (0x01, §3.3.2): the server proves it used the key behind pkS. */
export class Voprf {
  readonly #ctx: Context;

  constructor(g: Ristretto255) {
    this.#ctx = new Context(g, "voprf");
  }

  generateKeyPair(): OprfKeyPair {
    return this.#ctx.generateKeyPair();
  }

  deriveKeyPair(seed: Uint8Array, info: Uint8Array): OprfKeyPair {
    return this.#ctx.deriveKeyPair(seed, info);
  }

  blind(input: Uint8Array, options?: BlindOptions): BlindedInput {
    return this.#ctx.blind(input, options);
  }

  blindEvaluate(
    secretKey: Uint8Array,
    publicKey: Uint8Array,
    blindedElements: readonly unknown[],
    options: ProofOptions = {},
  ): ProvenEvaluation {
    const k = this.#ctx.secretKey(secretKey);
    const blinded = this.#ctx.peerPacked(blindedElements, "blinded elements");
    const evaluated = this.#ctx.multiplyPeer(k, blinded, "blinded element");
    const proof = this.#ctx.generateProof(k, publicKey, blinded, evaluated, options);
    return { evaluatedElements: unpack(evaluated), proof };
  }

  finalize(
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    evaluatedElements: readonly unknown[],
    blindedElements: readonly Uint8Array[],
    publicKey: Uint8Array,
    proof: unknown,
  ): Uint8Array[] {
    const evaluated = this.#ctx.peerElements(evaluatedElements, "evaluated elements");
    sameLength(
      "inputs, blinds and blinded elements",
      evaluated.length,
      inputs,
      blinds,
      blindedElements,
    );
    const pk = this.#ctx.g.deserializeElement(publicKey, "server public key");
    this.#ctx.verifyProof(pk, blindedElements, evaluated, proof);
    return evaluated.map((e, i) => {
      const input = inputs[i] ?? new Uint8Array();
      return this.#ctx.output(
        input,
        undefined,
        this.#ctx.unblind(blinds[i] ?? new Uint8Array(), e),
      );
    });
  }

  evaluate(secretKey: Uint8Array, input: Uint8Array): Uint8Array {
    const k = this.#ctx.secretKey(secretKey);
    return this.#ctx.output(input, undefined, this.#ctx.g.mult(k, this.#ctx.inputElement(input)));
  }
}

/** The per-info values a POPRF server derives from its key: t = skS + m, 1/t and t * G. */
interface Tweak {
  readonly t: Uint8Array;
  readonly inverse: Uint8Array;
  readonly tweakedKey: Uint8Array;
}

/** POPRF mode (0x02, §3.3.3): VOPRF plus public info bound into key and output. */
export class Poprf {
  readonly #ctx: Context;

  constructor(g: Ristretto255) {
    this.#ctx = new Context(g, "poprf");
  }

  generateKeyPair(): OprfKeyPair {
    return this.#ctx.generateKeyPair();
  }

  deriveKeyPair(seed: Uint8Array, info: Uint8Array): OprfKeyPair {
    return this.#ctx.deriveKeyPair(seed, info);
  }

  /** Client: blinds `input` and computes the tweaked key for `info` from the server's `publicKey`. */
  blind(
    input: Uint8Array,
    info: Uint8Array,
    publicKey: Uint8Array,
    options?: BlindOptions,
  ): PoprfBlindedInput {
    const pk = this.#ctx.g.deserializeElement(publicKey, "server public key");
    const tweakedKey = this.#ctx.g.add(this.#ctx.g.multGen(this.#ctx.infoScalar(info)), pk);
    if (this.#ctx.g.isIdentity(tweakedKey)) {
      throw new AccordError("ERR_MALFORMED_INPUT", "the server public key cancels the info tweak");
    }
    return { ...this.#ctx.blind(input, options), tweakedKey };
  }

  /** pkS for a secret key (RangeError unless it is a canonical non-zero scalar). */
  publicKeyOf(secretKey: Uint8Array): Uint8Array {
    return this.#ctx.g.multGen(this.#ctx.secretKey(secretKey));
  }

  /** @internal The per-info tweak; `PoprfServer` caches it. */
  tweak(secretKey: Uint8Array, info: Uint8Array): Tweak {
    const k = this.#ctx.secretKey(secretKey);
    const t = this.#ctx.g.scalarAdd(k, this.#ctx.infoScalar(info));
    if (this.#ctx.g.isZeroScalar(t)) {
      // InverseError of §3.3.3: the info cancels the key. Negligible unless chosen with skS.
      throw new AccordError("ERR_BAD_REQUEST", "the public info cannot be used with this key");
    }
    return { t, inverse: this.#ctx.g.scalarInvert(t), tweakedKey: this.#ctx.g.multGen(t) };
  }

  /** @internal BlindEvaluate with a precomputed tweak. */
  blindEvaluateWith(
    tweak: Tweak,
    blindedElements: readonly unknown[],
    options: ProofOptions,
  ): ProvenEvaluation {
    const blinded = this.#ctx.peerPacked(blindedElements, "blinded elements");
    const evaluated = this.#ctx.multiplyPeer(tweak.inverse, blinded, "blinded element");
    const proof = this.#ctx.generateProof(tweak.t, tweak.tweakedKey, evaluated, blinded, options);
    return { evaluatedElements: unpack(evaluated), proof };
  }

  /**
   * @internal Evaluate for many inputs with a precomputed tweak, in one pass through libsodium
   * (the responder's filter build); same outputs as `evaluateWith` per input.
   */
  evaluateManyWith(tweak: Tweak, inputs: readonly Uint8Array[], info: Uint8Array): Uint8Array[] {
    for (const input of inputs) checkBytes(input, "an OPRF input");
    let elements: Uint8Array;
    try {
      elements = this.#ctx.g.hashToGroupMany(inputs, this.#ctx.hashToGroupDst, tweak.inverse);
    } catch {
      // Only an input hashing to the identity gets here (negligible probability).
      throw new AccordError("ERR_BAD_REQUEST", "an input maps to the identity element");
    }
    return inputs.map((input, i) =>
      this.#ctx.output(input, info, elements.subarray(i * ELEMENT_BYTES, (i + 1) * ELEMENT_BYTES)),
    );
  }

  /** @internal Evaluate with a precomputed tweak. */
  evaluateWith(tweak: Tweak, input: Uint8Array, info: Uint8Array): Uint8Array {
    const element = this.#ctx.g.mult(tweak.inverse, this.#ctx.inputElement(input));
    return this.#ctx.output(input, info, element);
  }

  /** Server: evaluates blinded elements (attacker-controlled) under `info`, with one proof. */
  blindEvaluate(
    secretKey: Uint8Array,
    blindedElements: readonly unknown[],
    info: Uint8Array,
    options: ProofOptions = {},
  ): ProvenEvaluation {
    return this.blindEvaluateWith(this.tweak(secretKey, info), blindedElements, options);
  }

  /** Client: verifies the proof against `tweakedKey`, then unblinds and hashes each output. */
  finalize(
    inputs: readonly Uint8Array[],
    blinds: readonly Uint8Array[],
    evaluatedElements: readonly unknown[],
    blindedElements: readonly Uint8Array[],
    proof: unknown,
    info: Uint8Array,
    tweakedKey: Uint8Array,
  ): Uint8Array[] {
    checkBytes(info, "public info");
    const evaluated = this.#ctx.peerElements(evaluatedElements, "evaluated elements");
    sameLength(
      "inputs, blinds and blinded elements",
      evaluated.length,
      inputs,
      blinds,
      blindedElements,
    );
    const tk = this.#ctx.g.deserializeElement(tweakedKey, "tweaked key");
    this.#ctx.verifyProof(tk, evaluated, blindedElements, proof);
    return evaluated.map((e, i) => {
      const input = inputs[i] ?? new Uint8Array();
      return this.#ctx.output(input, info, this.#ctx.unblind(blinds[i] ?? new Uint8Array(), e));
    });
  }

  /** Server-side, non-interactive: the output a client would get for `input` under `info`. */
  evaluate(secretKey: Uint8Array, input: Uint8Array, info: Uint8Array): Uint8Array {
    return this.evaluateWith(this.tweak(secretKey, info), input, info);
  }
}

/** The three modes of the ristretto255-SHA512 suite, ready for synchronous use. */
export interface OprfSuite {
  readonly name: typeof OPRF_SUITE;
  readonly oprf: Oprf;
  readonly voprf: Voprf;
  readonly poprf: Poprf;
}

let suite: { readonly of: Promise<Ristretto255>; readonly suite: Promise<OprfSuite> } | undefined;

/** The three modes over one group (the process-wide one is `loadOprfSuite`'s). */
export function oprfSuiteOf(g: Ristretto255): OprfSuite {
  return Object.freeze({
    name: OPRF_SUITE,
    oprf: new Oprf(g),
    voprf: new Voprf(g),
    poprf: new Poprf(g),
  });
}

/** Loads libsodium once and returns the suite over the process-wide group (`loadGroup`). */
export function loadOprfSuite(): Promise<OprfSuite> {
  const of = loadGroup();
  if (suite?.of !== of) suite = { of, suite: of.then(oprfSuiteOf) };
  return suite.suite;
}

/** A POPRF responder bound to one secret key, caching the tweak per public info. */
export interface PoprfServer {
  readonly publicKey: Uint8Array;
  /** The tweaked key t * G a client should derive for `info` (for publication and tests). */
  tweakedKey(info: Uint8Array): Uint8Array;
  blindEvaluate(
    blindedElements: readonly unknown[],
    info: Uint8Array,
    options?: ProofOptions,
  ): ProvenEvaluation;
  evaluate(input: Uint8Array, info: Uint8Array): Uint8Array;
  /** `evaluate` for many inputs at once (building a filter): same outputs, in input order. */
  evaluateMany(inputs: readonly Uint8Array[], info: Uint8Array): Uint8Array[];
}

const TWEAK_CACHE_SIZE = 64;

/**
 * Builds a POPRF server for `secretKey` (awaits libsodium once), over the process-wide group or
 * over `group` (the benches and tests compare backends).
 */
export async function createPoprfServer(
  secretKey: Uint8Array,
  group?: Ristretto255,
): Promise<PoprfServer> {
  const { poprf } = group === undefined ? await loadOprfSuite() : oprfSuiteOf(group);
  const key = new Uint8Array(secretKey);
  const publicKey = poprf.publicKeyOf(key);
  const cache = new Map<string, Tweak>();
  const tweakFor = (info: Uint8Array): Tweak => {
    checkBytes(info, "public info");
    const id = Buffer.from(info).toString("hex");
    let tweak = cache.get(id);
    if (tweak === undefined) {
      tweak = poprf.tweak(key, info);
      if (cache.size >= TWEAK_CACHE_SIZE) cache.delete(cache.keys().next().value ?? "");
      cache.set(id, tweak);
    }
    return tweak;
  };
  return Object.freeze({
    publicKey,
    tweakedKey: (info: Uint8Array) => tweakFor(info).tweakedKey.slice(),
    blindEvaluate: (
      blindedElements: readonly unknown[],
      info: Uint8Array,
      options: ProofOptions = {},
    ) => poprf.blindEvaluateWith(tweakFor(info), blindedElements, options),
    evaluate: (input: Uint8Array, info: Uint8Array) =>
      poprf.evaluateWith(tweakFor(info), input, info),
    evaluateMany: (inputs: readonly Uint8Array[], info: Uint8Array) =>
      poprf.evaluateManyWith(tweakFor(info), inputs, info),
  });
}
