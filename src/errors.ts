/**
 * One error base for Accord, with a closed union of stable codes.
 *
 * Codes are public API: they appear in CLI `--json` output, in RFC 9457 problem documents and in
 * TAXII error resources. Each one is listed, with its HTTP status, in spec/errors.md. Messages
 * follow one style: a lowercase single sentence, user input in backticks, no internal type names,
 * never a secret or a piece of personal data. Programmer misuse throws plain TypeError/RangeError.
 *
 * Domain code knows nothing of HTTP: `httpStatusOf` is the one table the server's error mapper reads.
 */

export const ERROR_STATUS = {
  /** Input that is not parseable at all (JSON, YAML). */
  ERR_MALFORMED_INPUT: 400,
  /** A STIX object or bundle that parses but breaks STIX 2.1. */
  ERR_STIX_INVALID: 422,
  /** An agreement document that parses but breaks the agreement schema. */
  ERR_AGREEMENT_INVALID: 422,
  /** No agreement in force names this node and the partner for the purpose. */
  ERR_AGREEMENT_NOT_IN_FORCE: 403,
  /** The decision engine denied the action. */
  ERR_POLICY_DENIED: 403,
  /** The node id is not a known partner. */
  ERR_UNKNOWN_PARTNER: 403,
  /** A signature did not verify (deliberately vague). */
  ERR_SIGNATURE_INVALID: 401,
  /** An envelope could not be decrypted (deliberately vague). */
  ERR_DECRYPTION_FAILED: 400,
  /** An envelope is malformed, expired, or addressed to another node. */
  ERR_ENVELOPE_INVALID: 400,
  /** The same envelope id was presented with different content. */
  ERR_REPLAY: 409,
  /** Missing or wrong credentials. */
  ERR_UNAUTHENTICATED: 401,
  /** A body larger than the node accepts. */
  ERR_BODY_TOO_LARGE: 413,
  /** Content-Type the endpoint does not accept. */
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  /** A resource that does not exist. */
  ERR_NOT_FOUND: 404,
  /** A configuration file or flag that is wrong; all problems are reported together. */
  ERR_CONFIG_INVALID: 400,
  /** Keys missing, unreadable, or with permissions wider than 0600. */
  ERR_KEYS_INVALID: 500,
  /** The peer could not be reached or answered with an error. */
  ERR_PEER_UNAVAILABLE: 502,
  /** A store operation failed; the transaction was rolled back. */
  ERR_STORAGE: 500,
  /** A request the endpoint cannot satisfy as asked (bad parameter, wrong state). */
  ERR_BAD_REQUEST: 400,
  /** Authenticated, but these credentials may not do this (TAXII collection rights). */
  ERR_FORBIDDEN: 403,
  /** The Accept header names no media type the endpoint can produce (TAXII). */
  ERR_NOT_ACCEPTABLE: 406,
  /** A hit/no-hit query budget is spent for its window; `retryAt` says when it resets. */
  ERR_BUDGET_EXHAUSTED: 429,
  /** Anything unexpected; details go to the operator's log, never to the caller. */
  ERR_INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A detail that helps the caller fix the problem: where (a JSON path or file:line:col) and what. */
export interface ErrorDetail {
  readonly path?: string;
  readonly objectId?: string;
  readonly message: string;
  readonly code?: string;
}

export class AccordError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[];
  /** RFC 3339: when the refused request may succeed (budgets); HTTP sends it as Retry-After. */
  readonly retryAt: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { details?: readonly ErrorDetail[]; cause?: unknown; retryAt?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AccordError";
    this.code = code;
    this.details = options?.details ?? [];
    this.retryAt = options?.retryAt;
  }
}

export function isAccordError(e: unknown): e is AccordError {
  return e instanceof AccordError;
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_STATUS[code];
}
