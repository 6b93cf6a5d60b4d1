/**
 * Minimization profiles (spec/minimization.md §profiles): YAML -> zod schema -> an immutable,
 * compiled `Profile`. Errors carry file:line:col and say what was expected; all problems are
 * reported together.
 *
 * Risks: a profile is named by an agreement that partners sign, so it may come from a partner;
 * every member is bounded and unknown members are errors (a clause the engine does not know is a
 * clause it would silently ignore). Absent members default to the stricter choice: no type is
 * allowed unless listed, every detector redacts unless told otherwise, source protection is on.
 */
import { LineCounter, isNode, parseDocument } from "yaml";
import { z } from "zod";
import { AccordError, type ErrorDetail } from "../../errors.js";
import { DETECTOR_KINDS, type DetectorKind } from "./detect.js";
import { GRADE_SCHEMES, type GradeScheme } from "./grades.js";

export const DETECTOR_ACTIONS = [
  "allow",
  "redact",
  "pseudonymize",
  "generalize",
  "refuse",
] as const;
export type DetectorAction = (typeof DETECTOR_ACTIONS)[number];

/** `name`, `a.b`, `list[].field`, `extensions.*.extension_type`, `*` (the whole object). */
const PATH =
  /^(?:\*|[A-Za-z0-9_-]{1,250}(?:\[\])?)(?:\.(?:\*|[A-Za-z0-9_-]{1,250}(?:\[\])?)){0,15}$/;
const TYPE_NAME = /^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$/;
const PROPERTY = /^[a-z][a-z0-9_]{2,249}$/;

const pathSchema = z
  .string()
  .regex(PATH, "expected a property path such as `name`, `a.b` or `list[].field`");

const detectorsSchema = z
  .strictObject(
    Object.fromEntries(
      DETECTOR_KINDS.map((k) => [k, z.enum(DETECTOR_ACTIONS).optional()]),
    ) as Record<DetectorKind, z.ZodOptional<z.ZodEnum<{ [A in DetectorAction]: A }>>>,
  )
  .superRefine((d, ctx) => {
    for (const [k, v] of Object.entries(d)) {
      if (v === "generalize" && k !== "ip")
        ctx.addIssue({
          code: "custom",
          path: [k],
          message: "only the `ip` detector can generalize",
        });
    }
  });

export const profileSchema = z.strictObject({
  profile: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "expected a lower-case name with hyphens"),
  version: z.number().int().min(1),
  description: z.string().max(2000).optional(),
  types: z.record(
    z.string().regex(TYPE_NAME, "expected a STIX type name"),
    z.strictObject({
      properties: z.array(pathSchema).max(500),
      redact: z.array(z.string().regex(PROPERTY, "expected a property name")).max(100).optional(),
    }),
  ),
  detectors: detectorsSchema.optional(),
  identity_context_types: z.array(z.string().regex(TYPE_NAME)).max(100).optional(),
  generalize: z
    .strictObject({
      ip: z
        .strictObject({
          ipv4: z.number().int().min(0).max(32),
          ipv6: z.number().int().min(0).max(128),
        })
        .optional(),
      timestamps: z
        .strictObject({
          precision: z.enum(["hour", "day"]),
          properties: z.array(z.string().regex(PROPERTY, "expected a property name")).max(100),
        })
        .optional(),
      coordinates: z.strictObject({ decimals: z.number().int().min(0).max(6) }).optional(),
    })
    .optional(),
  source_protection: z
    .strictObject({
      enabled: z.boolean().default(true),
      remove: z.array(z.string().regex(PROPERTY, "expected a property name")).max(100).optional(),
      public_sources: z.array(z.string().min(1).max(100)).max(100).optional(),
      reissue_ids: z.boolean().default(true),
      grade: z.enum(["required", "optional"]).default("optional"),
      grade_scheme: z.enum([...GRADE_SCHEMES, "any"]).default("any"),
    })
    .optional(),
});

export type ProfileDocument = z.infer<typeof profileSchema>;

/** An allowlist tree compiled from paths. */
export interface AllowNode {
  /** Everything below is allowed. */
  readonly all: boolean;
  readonly keys: ReadonlyMap<string, AllowNode>;
  /** `*`: any key. */
  readonly any: AllowNode | undefined;
  /** `[]`: the items of a list. */
  readonly items: AllowNode | undefined;
}

export interface TypeRule {
  readonly allow: AllowNode;
  readonly redact: ReadonlySet<string>;
}

export interface Profile {
  readonly doc: ProfileDocument;
  readonly name: string;
  readonly types: ReadonlyMap<string, TypeRule>;
  readonly detectors: Readonly<Record<DetectorKind, DetectorAction>>;
  readonly identityContextTypes: ReadonlySet<string>;
  readonly ip: { readonly ipv4: number; readonly ipv6: number } | undefined;
  readonly timestamps:
    { readonly precision: "hour" | "day"; readonly properties: ReadonlySet<string> } | undefined;
  readonly coordinateDecimals: number | undefined;
  readonly source: {
    readonly enabled: boolean;
    readonly remove: ReadonlySet<string>;
    readonly publicSources: ReadonlySet<string>;
    readonly reissueIds: boolean;
    readonly grade: "required" | "optional";
    readonly gradeScheme: GradeScheme | "any";
  };
}

/** Properties every object keeps: identity of the object and its markings (never widened). */
export const IMPLICIT_PROPERTIES: ReadonlySet<string> = new Set([
  "type",
  "id",
  "spec_version",
  "created",
  "modified",
  "object_marking_refs",
  "granular_markings",
]);

const DEFAULT_DETECTORS: Readonly<Record<DetectorKind, DetectorAction>> = {
  email: "redact",
  phone: "redact",
  iban: "refuse",
  card: "refuse",
  passport: "refuse",
  wallet: "redact",
  ip: "redact",
};
const DEFAULT_IDENTITY_CONTEXT = [
  "identity",
  "user-account",
  "email-addr",
  "email-message",
  "location",
];
const DEFAULT_SOURCE_REMOVE = ["created_by_ref", "external_references", "where_sighted_refs"];

interface MutableNode {
  all: boolean;
  keys: Map<string, MutableNode>;
  any: MutableNode | undefined;
  items: MutableNode | undefined;
}

const fresh = (): MutableNode => ({
  all: false,
  keys: new Map(),
  any: undefined,
  items: undefined,
});

/** Compile allowlist paths to a tree. */
export function compileAllowlist(paths: readonly string[]): AllowNode {
  const root = fresh();
  for (const path of paths) {
    let node = root;
    for (const seg of path.split(".")) {
      if (node.all) break;
      const list = seg.endsWith("[]");
      const name = list ? seg.slice(0, -2) : seg;
      let next: MutableNode;
      if (name === "*") next = node.any ??= fresh();
      else {
        next = node.keys.get(name) ?? fresh();
        node.keys.set(name, next);
      }
      node = list ? (next.items ??= fresh()) : next;
    }
    node.all = true;
  }
  return root;
}

export const STRICT_PROFILE_NAME = "strict";

/** Compile a validated profile document. */
export function compileProfile(doc: ProfileDocument): Profile {
  const types = new Map<string, TypeRule>();
  for (const [type, rule] of Object.entries(doc.types)) {
    types.set(type, {
      allow: compileAllowlist(rule.properties),
      redact: new Set(rule.redact ?? []),
    });
  }
  const sp = doc.source_protection;
  const detectors: Record<DetectorKind, DetectorAction> = { ...DEFAULT_DETECTORS };
  for (const kind of DETECTOR_KINDS) {
    const action = doc.detectors?.[kind];
    if (action !== undefined) detectors[kind] = action;
  }
  return Object.freeze({
    doc,
    name: doc.profile,
    types,
    detectors,
    identityContextTypes: new Set(doc.identity_context_types ?? DEFAULT_IDENTITY_CONTEXT),
    ip: doc.generalize?.ip,
    timestamps:
      doc.generalize?.timestamps === undefined
        ? undefined
        : {
            precision: doc.generalize.timestamps.precision,
            properties: new Set(doc.generalize.timestamps.properties),
          },
    coordinateDecimals: doc.generalize?.coordinates?.decimals,
    source: {
      enabled: sp?.enabled ?? true,
      remove: new Set(sp?.remove ?? DEFAULT_SOURCE_REMOVE),
      publicSources: new Set(sp?.public_sources ?? []),
      reissueIds: sp?.reissue_ids ?? true,
      grade: sp?.grade ?? "optional",
      gradeScheme: sp?.grade_scheme ?? "any",
    },
  });
}

const MAX_SOURCE_BYTES = 256 * 1024;

/**
 * Parse a profile document (YAML). Throws AccordError `ERR_MALFORMED_INPUT` for YAML that does
 * not parse and `ERR_BAD_REQUEST` for a document that breaks the schema, each detail with
 * file:line:col.
 */
export function parseProfile(source: string, file = "<profile>"): Profile {
  if (source.length > MAX_SOURCE_BYTES)
    throw new AccordError("ERR_BAD_REQUEST", `${file}: the profile is larger than 256 KiB`);
  const lineCounter = new LineCounter();
  const yamlDoc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${String(line)}:${String(col)}`;
  };
  if (yamlDoc.errors.length > 0) {
    const details: ErrorDetail[] = yamlDoc.errors.map((e) => ({
      path: at(e.pos[0]),
      message: e.message.split("\n")[0] ?? e.message,
    }));
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `${details[0]?.path ?? file}: the profile is not valid YAML`,
      {
        details,
      },
    );
  }
  const raw: unknown = yamlDoc.toJS({ maxAliasCount: 50 });
  const result = profileSchema.safeParse(raw);
  if (!result.success) {
    const details: ErrorDetail[] = result.error.issues.map((issue) => {
      const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p));
      let offset = 0;
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? yamlDoc.contents : yamlDoc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) {
          offset = node.range[0];
          break;
        }
      }
      const dotted = path.length === 0 ? "(document)" : path.join(".");
      return { path: at(offset), message: `${dotted}: ${issue.message}` };
    });
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `${details[0]?.path ?? file}: ${details[0]?.message ?? "the profile is invalid"}`,
      { details },
    );
  }
  return compileProfile(result.data);
}
