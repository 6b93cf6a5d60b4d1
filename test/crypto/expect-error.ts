/** Assertions on AccordError codes for the crypto tests. */
import { expect } from "vitest";
import { isAccordError, type ErrorCode } from "../../src/errors.js";

/** Assert that `run` throws (or rejects with) an AccordError with `code`; returns the error. */
export async function expectAccordError(
  run: () => unknown,
  code: ErrorCode,
  label?: string,
): Promise<Error> {
  let caught: unknown;
  try {
    await run();
  } catch (e) {
    caught = e;
  }
  expect(isAccordError(caught), label ?? `expected an AccordError ${code}`).toBe(true);
  if (!isAccordError(caught)) throw new Error("unreachable");
  expect(caught.code, label).toBe(code);
  return caught;
}

/** The error's code when `run` fails with an AccordError, "ok" when it succeeds. */
export async function outcomeOf(run: () => unknown): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (e) {
    return isAccordError(e) ? e.code : `not an AccordError: ${String(e)}`;
  }
}
