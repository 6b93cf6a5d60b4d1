/** Argument parsing and types the subcommands share (`accord log|witness|keys|recall ...`). */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ApiClient } from "./api-client.js";
import { loadConfig } from "./config.js";

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/** Where a command writes: its output and its diagnostics. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** The environment a command reads (ACCORD_DIR and the like). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Turns an error into the command's exit code (main.ts's `report`); `json` as with --json. */
export type Fail = (e: unknown, json: boolean) => number;

/** A mistake in how a command was called: main.ts reports it with exit code 2 and a pointer to --help. */
export class UsageError extends Error {}

/** A command against a running node's API (`accord keys`, `accord recall`): its exit code. */
export type ApiCommand = (argv: readonly string[], env: Env, io: Io, fail: Fail) => Promise<number>;

type Parsed<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>
>;

/**
 * Parse a command with subcommands (`options` should include `help`). Bad arguments print the
 * error and `usage` to stderr (exit 2); `--help` prints `usage` (exit 0), as does no subcommand
 * (exit 2): the exit code is returned in place of the parsed arguments.
 */
export function parseSubcommandArgs<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  command: string,
  usage: string,
  io: Io,
): Parsed<O> | number {
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    io.err(`accord ${command}: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  const help = (parsed.values as { help?: unknown }).help === true;
  if (help || parsed.positionals[0] === undefined) {
    io.out(usage);
    return help ? 0 : 2;
  }
  return parsed;
}

/**
 * Parse an API command's arguments: `--json` and `--dir` with the command's own `options`.
 * `print` writes the human text, or with --json the document.
 */
export function parseApiCommandArgs<const O extends ParseArgsOptionsConfig>(
  argv: readonly string[],
  options: O,
  io: Io,
): Parsed<O & typeof API_OPTIONS> & {
  json: boolean;
  print: (human: string, doc: unknown) => void;
} {
  let parsed: Parsed<O & typeof API_OPTIONS>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...API_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    // node:util's refusals (an unknown option, a missing value) are the caller's mistake.
    if ((e as { code?: unknown }).code?.toString().startsWith("ERR_PARSE_ARGS") === true)
      throw new UsageError((e as Error).message);
    throw e;
  }
  const json = (parsed.values as { json?: unknown }).json === true;
  const print = (human: string, doc: unknown): void => {
    io.out(json ? `${JSON.stringify(doc, null, 2)}\n` : `${human}\n`);
  };
  return { ...parsed, json, print };
}

const API_OPTIONS = {
  json: { type: "boolean" },
  dir: { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

/** The API client of the node in `dir`, else in ACCORD_DIR, else in the working directory. */
export function apiClientFor(dir: string | undefined, env: Env): ApiClient {
  return ApiClient.forConfig(loadConfig(dir ?? env.ACCORD_DIR ?? ".", env));
}
