/**
 * A first-in, first-out async lock. better-sqlite3 runs every statement synchronously on one
 * connection, so the store is only ever unsafe while a transaction's async body is pending:
 * everything that touches the connection goes through one of these, and a transaction holds it
 * from BEGIN IMMEDIATE to COMMIT or ROLLBACK.
 */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  /** Run `task` once every task queued before it has settled; its outcome is returned as is. */
  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.then(settled, settled);
    return result;
  }
}

function settled(): void {
  // The next task waits for this one to settle, whatever its outcome.
}
