/**
 * The worker-thread side of the SQLite writer (writer.ts): its own connection to the store's
 * file, on which it runs each group of write plans in one transaction and answers
 * `{ id }` once committed, or `{ id, error }` after rolling it back. `{ id, close }` closes the
 * connection and ends the thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { countPut, runWritePlan } from "../../app/write-plan.js";
import { threadError } from "../../compute/threads.js";
import { openSqliteWriterStore } from "./index.js";
import type { PreparedStep, WriterAnswer, WriterOptions, WriterRequest } from "./writer.js";

const port = parentPort;
if (port === null) throw new Error("writer-thread runs as a worker thread");
const options = workerData as WriterOptions;
const store = await openSqliteWriterStore(options);

/** Every plan in order, in one transaction: `runWritePlan`, with the objects already prepared. */
function commit(plans: readonly (readonly PreparedStep[])[]): Promise<void> {
  return store.transaction(async (tx) => {
    for (const plan of plans)
      for (const step of plan) {
        if (step.op !== "putPrepared") await runWritePlan(tx, [step]);
        else await countPut(tx, step.counted, await tx.objects.putPrepared(step.rows));
      }
  });
}

port.on("message", (request: WriterRequest) => {
  const done = "close" in request ? store.close() : commit(request.plans);
  done.then(
    () => {
      port.postMessage({ id: request.id } satisfies WriterAnswer);
      if ("close" in request) port.close();
    },
    (e: unknown) => {
      port.postMessage({ id: request.id, error: threadError(e) } satisfies WriterAnswer);
    },
  );
});
