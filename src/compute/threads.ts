/**
 * Worker threads of this project's own modules: starting one from TypeScript sources or from
 * built JavaScript, and carrying an error across the thread boundary (structured clone keeps
 * neither the class nor the code of an error, so it travels as data and is rebuilt).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { AccordError, type ErrorCode, type ErrorDetail } from "../errors.js";

/** An error as it crosses to the other thread. */
export interface ThreadError {
  readonly code?: string;
  readonly message: string;
  readonly details?: readonly ErrorDetail[];
}

/**
 * Starts the worker module `name` beside `here` (the caller's import.meta.url), from TypeScript
 * sources (tsx, vitest: the worker registers tsx's loader itself) or from built JavaScript
 * (dist/), whichever the caller is running from.
 */
export function startWorker(here: string, name: string, workerData: unknown): Worker {
  if (here.endsWith(".ts")) {
    const entry = new URL(`./${name}.ts`, here).href;
    // tsx's ESM API (the `tsx/esm/api` export) registers its loader in this thread.
    const tsxPackage = createRequire(here).resolve("tsx/package.json");
    const api = pathToFileURL(join(dirname(tsxPackage), "dist/esm/api/index.mjs")).href;
    const code =
      `import(${JSON.stringify(api)})` +
      `.then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })` +
      `.catch((e) => { setImmediate(() => { throw e; }); });`;
    return new Worker(code, { eval: true, execArgv: [], workerData });
  }
  return new Worker(new URL(`./${name}.js`, here), { workerData });
}

/** `e` as data for the other thread: an AccordError keeps its code and details. */
export function threadError(e: unknown): ThreadError {
  if (e instanceof AccordError) return { code: e.code, message: e.message, details: e.details };
  return { message: e instanceof Error ? e.message : "worker failure" };
}

/** The error a `ThreadError` stands for, on this side. */
export function fromThreadError(error: ThreadError): Error {
  const { code, message, details } = error;
  return code === undefined
    ? new Error(message)
    : new AccordError(code as ErrorCode, message, details === undefined ? {} : { details });
}
