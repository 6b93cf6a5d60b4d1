/**
 * Bulk Diffie-Hellman PSI across cores (spec/match.md §bulk): a pool of worker threads, each
 * running the pure packed functions of src/core/match/psi.ts on chunks of a list, and a PSI
 * party whose `blind` and `exponentiate` split their work over the pool. Results are in input
 * order and byte-identical to `createPsiParty` with the same key.
 *
 * Layer: src/compute sits beside core. It imports core, crypto and errors only; app, server and
 * cli may import it (.dependency-cruiser.cjs, rule `compute-uses-core-only`). Threads are a
 * resource with a lifetime, so the composition root should own a pool and `close()` it.
 *
 * Memory: inputs are read from any (async) iterable, chunk by chunk, with at most two chunks per
 * thread in flight, so a list of 10^6 identifiers never needs to be held as objects at once;
 * outputs are packed (32 bytes per element).
 *
 * Risks: the session key is sent to the worker threads of this process with each chunk (and
 * wiped there after use). A malformed element from the peer fails the whole call with
 * `ERR_MALFORMED_INPUT` naming its position. A worker that dies fails every pending call and the
 * pool refuses further work.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import { ELEMENT_BYTES, loadGroup, ristrettoBackendChoice } from "../crypto/oprf/group.js";
import { checkPsiKey, psiDst, shufflePacked, type PsiOptions } from "../core/match/psi.js";
import { AccordError } from "../errors.js";
import { fromThreadError, startWorker, type ThreadError } from "./threads.js";

/** @internal The messages between the pool and psi-worker.ts. */
export type PsiTask =
  | {
      readonly id: number;
      readonly op: "hash";
      readonly key: Uint8Array;
      readonly dst: Uint8Array;
      readonly bytes: Uint8Array;
      readonly ends: Uint32Array;
    }
  | {
      readonly id: number;
      readonly op: "mult";
      readonly key: Uint8Array;
      readonly elements: Uint8Array;
      readonly first: number;
    }
  | {
      readonly id: number;
      readonly op: "check";
      readonly elements: Uint8Array;
    };

/** @internal */
export type PsiAnswer =
  | { readonly id: number; readonly out: Uint8Array }
  | { readonly id: number; readonly error: ThreadError };

type TaskBody = PsiTask extends infer T ? (T extends unknown ? Omit<T, "id"> : never) : never;

/** Elements per task: about 60-120 ms of work on one core, small enough to balance two cores. */
export const PSI_CHUNK = 512;

export interface PsiPoolOptions {
  /** Worker threads; default: the number of cores (`os.availableParallelism()`). */
  readonly threads?: number;
}

type Inputs = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

interface Pending {
  readonly resolve: (out: Uint8Array) => void;
  readonly reject: (error: Error) => void;
}

interface Queued {
  readonly task: PsiTask;
  readonly transfer: ArrayBuffer[];
  readonly pending: Pending;
}

function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const c of chunks) length += c.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** A fixed set of worker threads running PSI chunks; start with `PsiPool.start()`. */
export class PsiPool {
  readonly threads: number;
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #queue: Queued[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #broken: Error | undefined;
  #closed = false;

  private constructor(threads: number) {
    this.threads = threads;
  }

  /** Starts the threads and waits until each has loaded libsodium. */
  static async start(options: PsiPoolOptions = {}): Promise<PsiPool> {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 1 || threads > 256) {
      throw new RangeError("a PSI pool has 1 to 256 threads");
    }
    const pool = new PsiPool(threads);
    try {
      await Promise.all(Array.from({ length: threads }, () => pool.#spawn()));
    } catch (e) {
      await pool.close();
      throw e;
    }
    return pool;
  }

  #spawn(): Promise<void> {
    // The threads use the backend this thread's group follows (native or wasm, group.ts).
    const worker = startWorker(import.meta.url, "psi-worker", {
      ristrettoBackend: ristrettoBackendChoice(),
    });
    this.#workers.push(worker);
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on("message", (message: PsiAnswer | { ready: true }) => {
        if ("ready" in message) {
          ready = true;
          worker.unref();
          this.#idle.push(worker);
          resolve();
          this.#pump();
          return;
        }
        this.#settle(worker, message);
      });
      worker.on("error", (error) => {
        if (!ready) reject(error);
        this.#fail(new Error(`a PSI worker failed: ${error.message}`));
      });
      worker.on("exit", (code) => {
        if (!ready) reject(new Error(`a PSI worker exited during start-up (code ${String(code)})`));
        if (!this.#closed) this.#fail(new Error(`a PSI worker exited (code ${String(code)})`));
      });
    });
  }

  #settle(worker: Worker, answer: PsiAnswer): void {
    const pending = this.#pending.get(answer.id);
    this.#pending.delete(answer.id);
    worker.unref();
    if (!this.#closed) this.#idle.push(worker);
    if (pending !== undefined) {
      if ("out" in answer) pending.resolve(answer.out);
      else pending.reject(fromThreadError(answer.error));
    }
    this.#pump();
  }

  #fail(error: Error): void {
    this.#broken ??= error;
    for (const p of this.#pending.values()) p.reject(error);
    this.#pending.clear();
    for (const q of this.#queue.splice(0)) q.pending.reject(error);
  }

  #pump(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop();
      const next = this.#queue.shift();
      if (worker === undefined || next === undefined) return;
      this.#pending.set(next.task.id, next.pending);
      worker.ref();
      worker.postMessage(next.task, next.transfer);
    }
  }

  #run(task: TaskBody, transfer: ArrayBuffer[]): Promise<Uint8Array> {
    if (this.#closed) return Promise.reject(new Error("the PSI pool is closed"));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#queue.push({
        task: { ...task, id },
        transfer,
        pending: { resolve, reject },
      });
      this.#pump();
    });
  }

  /**
   * Runs `submit` for consecutive chunks with at most two chunks per thread in flight and
   * returns the outputs concatenated in order.
   */
  async #ordered(
    chunks:
      | Iterable<(first: number) => Promise<Uint8Array>>
      | AsyncIterable<(first: number) => Promise<Uint8Array>>,
  ): Promise<Uint8Array> {
    const outputs: Uint8Array[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let first = 0;
    for await (const submit of chunks) {
      if (failure !== undefined) break;
      const slot = outputs.length;
      outputs.push(new Uint8Array());
      const done: Promise<void> = submit(first).then(
        (out) => {
          outputs[slot] = out;
        },
        (e: unknown) => {
          failure ??= e;
        },
      );
      first += PSI_CHUNK;
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      if (inFlight.size >= 2 * this.threads) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) {
      throw failure instanceof Error ? failure : new Error("a PSI task failed");
    }
    return concatChunks(outputs);
  }

  /** `[k · H(x)]` for every input, packed, in input order; `inputs` may be a stream. */
  hashAndMultiply(key: Uint8Array, context: string, inputs: Inputs): Promise<Uint8Array> {
    const dst = psiDst(context);
    const submitOf = (chunk: readonly Uint8Array[]) => (): Promise<Uint8Array> => {
      const ends = new Uint32Array(chunk.length);
      let length = 0;
      chunk.forEach((x, i) => {
        length += x.length;
        ends[i] = length;
      });
      const bytes = new Uint8Array(length);
      chunk.forEach((x, i) => {
        bytes.set(x, (ends[i] ?? 0) - x.length);
      });
      return this.#run({ op: "hash", key: key.slice(), dst, bytes, ends }, [
        bytes.buffer,
        ends.buffer,
      ]);
    };
    const check = (x: unknown): Uint8Array => {
      if (!(x instanceof Uint8Array)) throw new TypeError("a PSI input is a Uint8Array");
      return x;
    };
    // A sync iterable is read with a plain loop: no promise per item (10^6 of them cost more
    // main-thread CPU than packing the chunks).
    function* fromSync(source: Iterable<Uint8Array>): Generator<() => Promise<Uint8Array>> {
      let chunk: Uint8Array[] = [];
      for (const x of source) {
        chunk.push(check(x));
        if (chunk.length === PSI_CHUNK) {
          yield submitOf(chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) yield submitOf(chunk);
    }
    async function* fromAsync(
      source: AsyncIterable<Uint8Array>,
    ): AsyncGenerator<() => Promise<Uint8Array>> {
      let chunk: Uint8Array[] = [];
      for await (const x of source) {
        chunk.push(check(x));
        if (chunk.length === PSI_CHUNK) {
          yield submitOf(chunk);
          chunk = [];
        }
      }
      if (chunk.length > 0) yield submitOf(chunk);
    }
    const chunks = () => (Symbol.iterator in inputs ? fromSync(inputs) : fromAsync(inputs));
    return this.#ordered(chunks());
  }

  /**
   * `[k · P]` for packed elements from the peer (attacker-controlled), in order; a malformed
   * element fails the call with `ERR_MALFORMED_INPUT` naming its position.
   */
  multiply(key: Uint8Array, elements: Uint8Array): Promise<Uint8Array> {
    if (!(elements instanceof Uint8Array) || elements.length % ELEMENT_BYTES !== 0) {
      return Promise.reject(
        new AccordError("ERR_MALFORMED_INPUT", "the PSI elements are not 32-byte elements"),
      );
    }
    const run = (from: number, to: number) => (first: number) => {
      const part = elements.slice(from, to);
      return this.#run({ op: "mult", key: key.slice(), elements: part, first }, [part.buffer]);
    };
    function* chunks(): Generator<(first: number) => Promise<Uint8Array>> {
      const step = PSI_CHUNK * ELEMENT_BYTES;
      for (let from = 0; from < elements.length; from += step) {
        yield run(from, Math.min(elements.length, from + step));
      }
    }
    return this.#ordered(chunks());
  }

  /**
   * The position of the first packed element (from the peer) that is not a canonical encoding
   * of a non-identity point, or -1 when every one is valid; checked on the threads, chunk by
   * chunk, so a list of 10^5 elements does not hold up this thread.
   */
  async firstInvalid(elements: Uint8Array): Promise<number> {
    if (!(elements instanceof Uint8Array) || elements.length % ELEMENT_BYTES !== 0) {
      throw new AccordError("ERR_MALFORMED_INPUT", "the PSI elements are not 32-byte elements");
    }
    const step = PSI_CHUNK * ELEMENT_BYTES;
    const run = (from: number, to: number) => () => {
      const part = elements.slice(from, to);
      return this.#run({ op: "check", elements: part }, [part.buffer]);
    };
    function* chunks(): Generator<() => Promise<Uint8Array>> {
      for (let from = 0; from < elements.length; from += step) {
        yield run(from, Math.min(elements.length, from + step));
      }
    }
    // One little-endian int32 per chunk: the chunk's first invalid position, or -1.
    const found = await this.#ordered(chunks());
    const view = new DataView(found.buffer, found.byteOffset, found.byteLength);
    for (let c = 0; c * 4 < found.length; c++) {
      const at = view.getInt32(c * 4, true);
      if (at >= 0) return c * PSI_CHUNK + at;
    }
    return -1;
  }

  /** Stops the threads; pending calls fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#fail(new Error("the PSI pool is closed"));
    this.#idle.length = 0;
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** A PSI party whose work runs on a pool; outputs are packed (n × 32 bytes). */
export interface ParallelPsiParty {
  /** `[k · H(x)]` for each input (any iterable or async iterable), in order or shuffled. */
  blind(inputs: Inputs, options?: { shuffle?: boolean }): Promise<Uint8Array>;
  /** `[k · P]` for each packed element the peer sent, in order or shuffled. */
  exponentiate(elements: Uint8Array, options?: { shuffle?: boolean }): Promise<Uint8Array>;
}

/**
 * The parallel twin of `createPsiParty`: same options, same outputs for the same key (packed
 * instead of one array per element); the key is fresh per session unless given.
 */
export async function createParallelPsiParty(
  pool: PsiPool,
  options: PsiOptions,
): Promise<ParallelPsiParty> {
  const g = await loadGroup();
  const key = checkPsiKey(g, options.secretKey ?? g.randomScalar());
  psiDst(options.context);
  const random = options.randomInt;
  const maybeShuffle = (packed: Uint8Array, o: { shuffle?: boolean }): Uint8Array =>
    o.shuffle === true ? shufflePacked(packed, random) : packed;
  return Object.freeze({
    blind: async (inputs: Inputs, o: { shuffle?: boolean } = {}) =>
      maybeShuffle(await pool.hashAndMultiply(key, options.context, inputs), o),
    exponentiate: async (elements: Uint8Array, o: { shuffle?: boolean } = {}) =>
      maybeShuffle(await pool.multiply(key, elements), o),
  });
}
