/** Stores a conformance suite opens per test. */
import { afterEach } from "vitest";
import type { Store } from "../../src/app/ports.js";

/**
 * Call inside a describe: the returned function opens a store with `open`; every store opened in
 * a test is closed after it, then `cleanup` runs.
 */
export function freshStores(
  open: () => Promise<Store>,
  cleanup?: () => Promise<void>,
): () => Promise<Store> {
  const opened: Store[] = [];
  afterEach(async () => {
    for (const store of opened.splice(0)) await store.close();
    await cleanup?.();
  });
  return async () => {
    const store = await open();
    opened.push(store);
    return store;
  };
}
