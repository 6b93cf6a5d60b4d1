/**
 * The worker-thread side of the PSI pool (psi-pool.ts): it loads libsodium once (on the backend
 * the pool's thread chose, passed as `workerData.ristrettoBackend`), then answers
 * one task at a time with the pure functions of src/core/match/psi.ts, so a chunk computed here
 * is byte-identical to the same chunk computed on the main thread.
 *
 * Tasks (structured-cloned, buffers transferred):
 *   { id, op: "hash", key, dst, bytes, ends } → k · H(x_i) for the inputs bytes[ends[i-1]..ends[i])
 *   { id, op: "mult", key, elements, first }  → k · P_i, elements checked (positions from `first`)
 *   { id, op: "check", elements }             → int32 LE: the first invalid element, or -1
 * Answers: { id, out } or { id, error: { code?, message, details? } }.
 *
 * Risks: the session key arrives in each task (a copy inside this process) and is wiped after
 * use; errors carry codes and positions, never element bytes or inputs.
 */
import { parentPort, workerData } from "node:worker_threads";
import { loadGroup, useRistrettoBackend } from "../crypto/oprf/group.js";
import { backendChoice } from "../crypto/oprf/native.js";
import { psiHashAndMultiply, psiMultiplyPeer } from "../core/match/psi.js";
import { threadError } from "./threads.js";
import type { PsiTask, PsiAnswer } from "./psi-pool.js";

const port = parentPort;
if (port === null) throw new Error("psi-worker runs as a worker thread");
const { ristrettoBackend } = (workerData ?? {}) as { ristrettoBackend?: string };
useRistrettoBackend(backendChoice(ristrettoBackend));
const g = await loadGroup();

function answer(task: PsiTask): PsiAnswer {
  try {
    if (task.op === "hash") {
      const inputs: Uint8Array[] = [];
      let start = 0;
      for (const end of task.ends) {
        inputs.push(task.bytes.subarray(start, end));
        start = end;
      }
      return { id: task.id, out: psiHashAndMultiply(g, task.key, task.dst, inputs) };
    }
    if (task.op === "check") {
      const out = new Uint8Array(4);
      new DataView(out.buffer).setInt32(0, g.firstInvalid(task.elements), true);
      return { id: task.id, out };
    }
    return { id: task.id, out: psiMultiplyPeer(g, task.key, task.elements, task.first) };
  } catch (e) {
    return { id: task.id, error: threadError(e) };
  } finally {
    if (task.op !== "check") task.key.fill(0);
  }
}

port.on("message", (task: PsiTask) => {
  const reply = answer(task);
  port.postMessage(reply, "out" in reply ? [reply.out.buffer as ArrayBuffer] : []);
});
port.postMessage({ ready: true });
