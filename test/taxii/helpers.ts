/** Shared pieces for the TAXII tests: STIX objects to post and a small fetch wrapper. */
import { randomUUID } from "node:crypto";

export const TAXII = "application/taxii+json;version=2.1";
export const GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
export const RED = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

export function indicator(
  n: number,
  opts: { marking?: string; modified?: string; id?: string } = {},
): Record<string, unknown> {
  const created = "2026-03-01T00:00:00.000Z";
  return {
    type: "indicator",
    spec_version: "2.1",
    id: opts.id ?? `indicator--${randomUUID()}`,
    created,
    modified: opts.modified ?? created,
    name: `scanner ${n}`,
    indicator_types: ["malicious-activity"],
    pattern: `[ipv4-addr:value = '198.51.100.${n % 250}']`,
    pattern_type: "stix",
    valid_from: created,
    object_marking_refs: [opts.marking ?? GREEN],
  };
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function taxii(
  base: string,
  path: string,
  opts: {
    method?: string;
    auth?: string;
    body?: unknown;
    accept?: string;
    contentType?: string;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { accept: opts.accept ?? TAXII };
  if (opts.auth !== undefined) headers.authorization = opts.auth;
  if (opts.body !== undefined) headers["content-type"] = opts.contentType ?? TAXII;
  const res = await fetch(new URL(path, base), {
    method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}
