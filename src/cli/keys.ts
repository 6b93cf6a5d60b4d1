/**
 * `accord keys ...` (spec/federation.md, "Key rotation"): the running node's keys, through its API.
 *
 *   accord keys list                        current, previous (until when), retired and revoked
 *                                           keys; announcements partners have not acknowledged
 *   accord keys rotate [--overlap 7d]       a new Ed25519 + X25519 pair; the old one stays valid
 *                                           for the overlap; every partner is told
 *   accord keys retire [FINGERPRINT]        end the overlap now (every previous key by default)
 *   accord keys revoke [FINGERPRINT]        a compromised key: refused at once, no overlap (the
 *                                           current key by default, which a new pair replaces)
 */
import type { KeyEventResult } from "../app/key-rotation.js";
import type { KeyAnnouncementRecord, NodeKeyRecord } from "../app/ports.js";
import { AccordError } from "../errors.js";
import { apiClientFor, parseApiCommandArgs, type ApiCommand } from "./args.js";

export const KEYS_HELP = `  keys list | keys rotate [--overlap 7d] [--dir DIR]
                         this node's keys; a new key pair, the old one valid for the overlap,
                         announced to every partner (signed by the old key and the new)
  keys retire [FINGERPRINT] | keys revoke [FINGERPRINT] [--dir DIR]
                         end the overlap now; revoke a compromised key at once (the current one
                         by default: a new pair replaces it)
`;

export const keysCommand: ApiCommand = async (argv, env, io, fail) => {
  let json = argv.includes("--json");
  try {
    const args = parseApiCommandArgs(argv, { overlap: { type: "string" } }, io);
    const { values, positionals, print } = args;
    json = args.json;
    const [command = "list", arg, extra] = positionals;
    if (extra !== undefined) throw usage();
    const api = apiClientFor(values.dir, env);
    if (command === "list") {
      if (arg !== undefined) throw usage();
      const r = await api.call<{ keys: NodeKeyRecord[]; pending: KeyAnnouncementRecord[] }>(
        "GET",
        "/keys",
      );
      print(formatKeys(r.keys, r.pending), r);
      return 0;
    }
    if (command === "rotate") {
      if (arg !== undefined) throw usage();
      const r = await api.call<KeyEventResult>("POST", "/keys/rotate", {
        json: values.overlap === undefined ? {} : { overlap: values.overlap },
      });
      print(
        `rotated: ${r.current} is current; ${r.keys.join(", ")} stays valid until ${r.retiresAt ?? "now"}\n${announced(r)}`,
        r,
      );
      return 0;
    }
    if (command === "retire" || command === "revoke") {
      const r = await api.call<KeyEventResult>("POST", `/keys/${command}`, {
        json: arg === undefined ? {} : { fingerprint: arg },
      });
      const what = command === "retire" ? "retired" : "revoked";
      print(`${what}: ${r.keys.join(", ")}; current key ${r.current}\n${announced(r)}`, r);
      return 0;
    }
    throw usage();
  } catch (e) {
    return fail(e, json);
  }
};

function usage(): AccordError {
  return new AccordError(
    "ERR_BAD_REQUEST",
    "expected `accord keys list`, `keys rotate [--overlap 7d]`, `keys retire [FINGERPRINT]` or `keys revoke [FINGERPRINT]`",
  );
}

function announced(r: KeyEventResult): string {
  return r.announced.length === 0
    ? "no partner to tell"
    : `announced to ${r.announced.join(", ")} (retried until each acknowledges; see \`accord keys list\`)`;
}

/** One line per key: fingerprint, status, since, until; then unacknowledged announcements. */
export function formatKeys(
  keys: readonly NodeKeyRecord[],
  pending: readonly Omit<KeyAnnouncementRecord, "body">[],
): string {
  const lines = keys.map((k) =>
    [
      k.fingerprint,
      k.status,
      `since ${k.activatedAt}`,
      k.status === "previous" && k.retiresAt !== null ? `valid until ${k.retiresAt}` : "",
      k.endedAt === null ? "" : `ended ${k.endedAt}`,
    ]
      .filter((s) => s !== "")
      .join("\t"),
  );
  for (const p of pending)
    lines.push(
      `announcement ${p.kind} to ${p.recipient}: pending, ${String(p.attempts)} attempts${p.lastError === null ? "" : `, last error ${p.lastError}`}`,
    );
  return lines.join("\n") || "no keys recorded yet (start the node once)";
}
