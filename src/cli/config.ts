/**
 * Node configuration: one schema, loaded once (defaults < file < environment < flags), validated
 * with every problem reported together, frozen, and passed explicitly. Secrets (keys, the API
 * token) live in their own 0600 files, never in the config. Only the composition root reads
 * process.env.
 */
import { readFileSync, existsSync } from "node:fs";
import { resolve, isAbsolute, join } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { AccordError } from "../errors.js";
import { COSIGNATURE_TYPE, parseVerifierKey } from "../tlog/index.js";
import { GRADE_SCHEMES, parseGrade, type SourceGrade } from "../core/minimize/grades.js";
import type { OfficerEntry } from "../app/officers.js";

export const CONFIG_FILE = "accord.yaml";

const configSchema = z.strictObject({
  node: z.strictObject({
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, "expected letters, digits, `.`, `_` or `-`"),
    name: z.string().min(1).optional(),
  }),
  server: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.int().min(0).max(65535).default(7400),
      public_url: z.url().optional(),
      body_limit_bytes: z
        .int()
        .min(1024)
        .max(1 << 30)
        .default(16 << 20),
    })
    .default({ host: "127.0.0.1", port: 7400, body_limit_bytes: 16 << 20 }),
  storage: z
    .discriminatedUnion("driver", [
      z.strictObject({
        driver: z.literal("sqlite"),
        path: z.string().min(1).default("data/accord.db"),
        // TAXII POST's group commits on a thread of their own (spec/storage.md "Writer thread").
        writer_thread: z.boolean().default(false),
      }),
      z.strictObject({
        driver: z.literal("postgres"),
        url: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL"),
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/)
          .default("public"),
      }),
    ])
    .default({ driver: "sqlite", path: "data/accord.db", writer_thread: false }),
  keys: z
    .strictObject({
      file: z.string().default("keys/node-keys.json"),
      api_token_file: z.string().default("keys/api-token"),
      minimization_secret_file: z.string().default("keys/minimization-secret"),
    })
    .default({
      file: "keys/node-keys.json",
      api_token_file: "keys/api-token",
      minimization_secret_file: "keys/minimization-secret",
    }),
  agreements: z
    .strictObject({ dir: z.string().default("agreements") })
    .default({ dir: "agreements" }),
  minimization: z
    .strictObject({
      profiles_dir: z.string().default("profiles"),
      source_grade: z
        .strictObject({
          scheme: z.enum(GRADE_SCHEMES),
          code: z.string().regex(/^[A-FX][1-6]$/, "expected a grade such as `B2`"),
        })
        .refine((g) => parseGrade(g.scheme, g.code) !== undefined, {
          error: "not a grade of that scheme (Admiralty A-F 1-6, Europol 4x4 A/B/C/X 1-4)",
        })
        .optional(),
      epoch: z.int().min(0).max(1_000_000).default(0),
      epochs: z.record(z.string().min(1).max(128), z.int().min(0).max(1_000_000)).default({}),
    })
    .default({ profiles_dir: "profiles", epoch: 0, epochs: {} }),
  delivery: z
    .strictObject({ interval_ms: z.int().min(50).max(3_600_000).default(2000) })
    .default({ interval_ms: 2000 }),
  // Witnessing (spec/log.md, "Witnesses"): every partner's log is witnessed this often; 0 turns
  // the schedule off (POST /api/v1/log/witness/<partner> still works).
  witness: z
    .strictObject({
      interval_ms: z
        .int()
        .refine((n) => n === 0 || (n >= 1000 && n <= 86_400_000), {
          error: "expected 0 (off) or 1000..86400000 milliseconds",
        })
        .default(900_000),
      // Oversight witnesses that are not nodes (`accord witness`): each one's cosignature vkey.
      // Their keys may sign requests to /federation/v1/log/* and send cosignatures back.
      oversight: z
        .array(
          z.string().refine(isCosignatureVkey, {
            error: "expected a cosignature verifier key (`accord witness init` prints it)",
          }),
        )
        .max(64)
        .default([]),
    })
    .default({ interval_ms: 900_000, oversight: [] }),
  log: z
    .strictObject({
      level: z.enum(["fatal", "error", "warn", "info", "debug", "silent"]).default("info"),
      file: z.string().optional(),
    })
    .default({ level: "info" }),
  // The officers who decide follow-up requests after a hit (spec/match.md "Decision rights"):
  // each with the roles the agreements' decision rights name and the SHA-256 of their own token.
  officers: z
    .array(
      z.strictObject({
        name: z.string().trim().min(1).max(200),
        roles: z
          .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/, "expected a role slug"))
          .min(1)
          .max(20),
        token_sha256: z
          .string()
          .regex(
            /^[0-9a-f]{64}$/,
            "expected the SHA-256 of the officer's token: 64 lower-case hex digits (`accord officer add`)",
          ),
      }),
    )
    .max(1000)
    .default([])
    .superRefine((list, ctx) => {
      const names = new Set<string>();
      const hashes = new Set<string>();
      list.forEach((o, i) => {
        if (names.has(o.name))
          ctx.addIssue({ code: "custom", path: [i, "name"], message: "named twice" });
        if (hashes.has(o.token_sha256))
          ctx.addIssue({
            code: "custom",
            path: [i, "token_sha256"],
            message: "the same token as another officer",
          });
        names.add(o.name);
        hashes.add(o.token_sha256);
      });
    }),
});

function isCosignatureVkey(vkey: string): boolean {
  try {
    return parseVerifierKey(vkey).type === COSIGNATURE_TYPE;
  } catch {
    return false;
  }
}

export type ConfigFile = z.input<typeof configSchema>;
type Parsed = z.output<typeof configSchema>;

export interface NodeConfig {
  readonly dir: string;
  readonly nodeId: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly publicUrl: string;
  readonly bodyLimit: number;
  readonly storage:
    | { readonly driver: "sqlite"; readonly path: string; readonly writerThread: boolean }
    | { readonly driver: "postgres"; readonly url: string; readonly schema: string };
  readonly keysFile: string;
  readonly apiTokenFile: string;
  readonly minimizationSecretFile: string;
  readonly agreementsDir: string;
  /** The node's own minimization profiles (besides the shipped examples/profiles). */
  readonly profilesDir: string;
  /** The grade this node gives its own sources when an object carries none. */
  readonly sourceGrade: SourceGrade | undefined;
  /** The pseudonym epoch per agreement id, and the default for the others. */
  readonly epoch: number;
  readonly epochs: Readonly<Record<string, number>>;
  readonly deliveryIntervalMs: number;
  /** How often every partner's log is witnessed; 0 when the schedule is off. */
  readonly witnessIntervalMs: number;
  /** Oversight witnesses' cosignature vkeys (accord.yaml `witness.oversight`). */
  readonly oversightWitnesses: readonly string[];
  readonly logLevel: string;
  readonly logFile: string | undefined;
  /** The officers who decide follow-up requests (token hashes only). */
  readonly officers: readonly OfficerEntry[];
}

/** Flags a command may set; they win over everything else. */
export interface ConfigFlags {
  readonly port?: number;
  readonly host?: string;
}

export function loadConfig(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigFlags = {},
): NodeConfig {
  const root = resolve(dir);
  const file = join(root, CONFIG_FILE);
  if (!existsSync(file))
    throw new AccordError(
      "ERR_CONFIG_INVALID",
      `no \`${CONFIG_FILE}\` in \`${root}\`; create one with \`accord init --node-id ID --dir ${dir}\``,
    );
  return parseConfig(root, file, readFileSync(file, "utf8"), env, flags);
}

/** Validate and freeze the text of `file` (the node directory `root`) as `loadConfig` does. */
export function parseConfig(
  root: string,
  file: string,
  text: string,
  env: Readonly<Record<string, string | undefined>>,
  flags: ConfigFlags = {},
): NodeConfig {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `${file}: ${doc.errors[0]?.message.split("\n")[0] ?? "not valid YAML"}`,
    );
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const merged = applyEnv(raw, env);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({
      path: i.path.map(String).join("."),
      message: i.message,
    }));
    throw new AccordError(
      "ERR_CONFIG_INVALID",
      `${file}: ${details.map((d) => `${d.path}: ${d.message}`).join("; ")}`,
      { details },
    );
  }
  return freeze(root, parsed.data, flags);
}

function applyEnv(
  raw: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, unknown> {
  const out = structuredClone(raw);
  const section = (k: string): Record<string, unknown> => {
    const s = out[k];
    if (s !== null && typeof s === "object" && !Array.isArray(s))
      return s as Record<string, unknown>;
    const fresh: Record<string, unknown> = {};
    out[k] = fresh;
    return fresh;
  };
  if (env.ACCORD_HOST !== undefined) section("server").host = env.ACCORD_HOST;
  if (env.ACCORD_PORT !== undefined) section("server").port = Number(env.ACCORD_PORT);
  if (env.ACCORD_PUBLIC_URL !== undefined) section("server").public_url = env.ACCORD_PUBLIC_URL;
  if (env.ACCORD_DATABASE_URL !== undefined)
    out.storage = { driver: "postgres", url: env.ACCORD_DATABASE_URL };
  if (env.ACCORD_LOG_LEVEL !== undefined) section("log").level = env.ACCORD_LOG_LEVEL;
  return out;
}

function freeze(root: string, c: Parsed, flags: ConfigFlags): NodeConfig {
  const within = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const host = flags.host ?? c.server.host;
  const port = flags.port ?? c.server.port;
  return Object.freeze({
    dir: root,
    nodeId: c.node.id,
    name: c.node.name ?? c.node.id,
    host,
    port,
    publicUrl: c.server.public_url ?? `http://${host}:${port}`,
    bodyLimit: c.server.body_limit_bytes,
    storage: Object.freeze(
      c.storage.driver === "sqlite"
        ? {
            driver: "sqlite" as const,
            path: c.storage.path === ":memory:" ? ":memory:" : within(c.storage.path),
            writerThread: c.storage.writer_thread,
          }
        : c.storage,
    ),
    keysFile: within(c.keys.file),
    apiTokenFile: within(c.keys.api_token_file),
    minimizationSecretFile: within(c.keys.minimization_secret_file),
    agreementsDir: within(c.agreements.dir),
    profilesDir: within(c.minimization.profiles_dir),
    sourceGrade:
      c.minimization.source_grade === undefined
        ? undefined
        : parseGrade(c.minimization.source_grade.scheme, c.minimization.source_grade.code),
    epoch: c.minimization.epoch,
    epochs: Object.freeze({ ...c.minimization.epochs }),
    deliveryIntervalMs: c.delivery.interval_ms,
    witnessIntervalMs: c.witness.interval_ms,
    oversightWitnesses: Object.freeze([...c.witness.oversight]),
    logLevel: c.log.level,
    logFile: c.log.file === undefined ? undefined : within(c.log.file),
    officers: Object.freeze(
      c.officers.map((o) =>
        Object.freeze({ name: o.name, roles: [...o.roles], tokenSha256: o.token_sha256 }),
      ),
    ),
  });
}
