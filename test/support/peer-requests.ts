/** Signed peer-protocol requests (RFC 9421) for tests that talk to `/federation/v1/*` directly. */
import { join } from "node:path";
import type { KeyObject } from "node:crypto";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { jwkThumbprint, type NodeKeys } from "../../src/crypto/keys.js";
import { signRequestHeaders } from "../../src/federation/request-signing.js";
import type { RequestSigner } from "../../src/federation/request-signing.js";
import type { RunningNode } from "../../src/cli/compose.js";

/** The request signer of the node whose directory is `dir` (its current key file). */
export function signerOf(dir: string): RequestSigner {
  return signerFor(loadNodeKeys(join(dir, "keys", "node-keys.json")));
}

export function signerFor(
  keys: NodeKeys | { signing: { privateKey: KeyObject; publicJwk: never } },
): RequestSigner {
  return {
    key: keys.signing.privateKey,
    keyId: jwkThumbprint(keys.signing.publicJwk),
  };
}

/** POST `body` to `path` on `to`, signed by `signer`; `over` replaces or removes headers. */
export async function signedPost(
  to: RunningNode,
  signer: RequestSigner,
  path: string,
  body: string,
  type: string,
  over: Record<string, string | undefined> = {},
): Promise<{ status: number; body: any; type: string | null }> {
  const url = new URL(path, to.url);
  const signed = signRequestHeaders(signer, {
    method: "POST",
    url: url.href,
    body,
    contentType: type,
  });
  const headers = Object.fromEntries(
    Object.entries({ ...signed, ...over }).filter((e): e is [string, string] => e[1] !== undefined),
  );
  const res = await fetch(url, { method: "POST", headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, type: res.headers.get("content-type") };
}
