/**
 * A TAXII 2.1 client (OASIS TAXII 2.1 §4-§5; spec/taxii.md, "Client") for any conformant server:
 * discovery, API roots, collections, and paged object reads with `added_after`, `limit` and
 * `next`. Everything a server answers is attacker-controlled: bodies are size-bounded and
 * shape-checked before use; STIX validation is the caller's.
 */
import { AccordError, ERROR_STATUS, type ErrorCode } from "../errors.js";
import type { StixObject } from "../core/stix/object.js";

export const TAXII_ACCEPT = "application/taxii+json;version=2.1";
const MAX_RESPONSE_BYTES = 64 << 20;

export type TaxiiAuth =
  | { readonly kind: "basic"; readonly user: string; readonly password: string }
  | { readonly kind: "bearer"; readonly token: string }
  | { readonly kind: "none" };

export interface TaxiiCollectionInfo {
  readonly id: string;
  readonly title: string;
  readonly canRead: boolean;
  readonly canWrite: boolean;
}

export interface TaxiiObjectsPage {
  readonly objects: readonly StixObject[];
  readonly more: boolean;
  readonly next?: string;
  /** X-TAXII-Date-Added-First/Last, when the server sent them. */
  readonly dateAddedFirst?: string;
  readonly dateAddedLast?: string;
}

export interface TaxiiClientOptions {
  readonly auth: TaxiiAuth;
  readonly timeoutMs?: number;
}

export class TaxiiClient {
  private readonly auth: TaxiiAuth;
  private readonly timeoutMs: number;

  constructor(opts: TaxiiClientOptions) {
    this.auth = opts.auth;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /**
   * The API root behind `url`: `url` itself when it is an API root, or the discovery resource's
   * `default` (else its first API root) when `url` is a discovery endpoint.
   */
  async resolveApiRoot(url: string): Promise<string> {
    const base = withSlash(url);
    const { body } = await this.get(base);
    if ("versions" in body && !("api_roots" in body)) return base;
    const roots: unknown[] = Array.isArray(body.api_roots) ? (body.api_roots as unknown[]) : [];
    const chosen = typeof body.default === "string" ? body.default : roots[0];
    if (typeof chosen !== "string")
      throw new AccordError(
        "ERR_BAD_REQUEST",
        `\`${url}\` is neither a TAXII API root nor a discovery endpoint that names one`,
      );
    return withSlash(new URL(chosen, base).href);
  }

  async collections(apiRoot: string): Promise<TaxiiCollectionInfo[]> {
    const { body } = await this.get(new URL("collections/", withSlash(apiRoot)).href);
    const list = Array.isArray(body.collections) ? (body.collections as unknown[]) : [];
    return list.flatMap((c) => {
      if (c === null || typeof c !== "object") return [];
      const r = c as Record<string, unknown>;
      if (typeof r.id !== "string") return [];
      return [
        {
          id: r.id,
          title: typeof r.title === "string" ? r.title : "",
          canRead: r.can_read === true,
          canWrite: r.can_write === true,
        },
      ];
    });
  }

  /** One page of GET .../collections/{id}/objects/. */
  async objects(
    apiRoot: string,
    collection: string,
    q: { addedAfter?: string; next?: string; limit?: number } = {},
  ): Promise<TaxiiObjectsPage> {
    const url = new URL(
      `collections/${encodeURIComponent(collection)}/objects/`,
      withSlash(apiRoot),
    );
    if (q.addedAfter !== undefined) url.searchParams.set("added_after", q.addedAfter);
    if (q.next !== undefined) url.searchParams.set("next", q.next);
    if (q.limit !== undefined) url.searchParams.set("limit", String(q.limit));
    const { body, headers } = await this.get(url.href);
    const objects = body.objects;
    if (objects !== undefined && !Array.isArray(objects))
      throw new AccordError("ERR_BAD_REQUEST", "the server's envelope has a non-list `objects`");
    const first = headers.get("x-taxii-date-added-first");
    const last = headers.get("x-taxii-date-added-last");
    return {
      objects: (objects ?? []) as StixObject[],
      more: body.more === true,
      ...(typeof body.next === "string" && body.next !== "" ? { next: body.next } : {}),
      ...(first === null ? {} : { dateAddedFirst: first }),
      ...(last === null ? {} : { dateAddedLast: last }),
    };
  }

  private async get(url: string): Promise<{ body: Record<string, unknown>; headers: Headers }> {
    const headers: Record<string, string> = { accept: TAXII_ACCEPT };
    if (this.auth.kind === "basic")
      headers.authorization = `Basic ${Buffer.from(`${this.auth.user}:${this.auth.password}`).toString("base64")}`;
    else if (this.auth.kind === "bearer") headers.authorization = `Bearer ${this.auth.token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (e) {
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `the TAXII server at \`${url}\` is not reachable`,
        {
          cause: e,
        },
      );
    }
    const text = await readBounded(res);
    let parsed: unknown;
    try {
      parsed = text === "" ? {} : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed ?? {}) as Record<string, unknown>;
      const described =
        typeof e.description === "string"
          ? e.description
          : typeof e.title === "string"
            ? e.title
            : `HTTP ${res.status}`;
      const code: ErrorCode =
        res.status === 401
          ? "ERR_UNAUTHENTICATED"
          : res.status === 403
            ? "ERR_FORBIDDEN"
            : res.status === 404
              ? "ERR_NOT_FOUND"
              : res.status >= 500
                ? "ERR_PEER_UNAVAILABLE"
                : typeof e.error_code === "string" && e.error_code in ERROR_STATUS
                  ? (e.error_code as ErrorCode)
                  : "ERR_BAD_REQUEST";
      throw new AccordError(
        code,
        `the TAXII server answered ${res.status} for \`${url}\`: ${described.slice(0, 300)}`,
      );
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed))
      throw new AccordError(
        "ERR_MALFORMED_INPUT",
        `the TAXII server's answer for \`${url}\` is not a JSON object`,
      );
    return { body: parsed as Record<string, unknown>, headers: res.headers };
  }
}

function withSlash(url: string): string {
  return url.endsWith("/") ? url : `${url}/`;
}

async function readBounded(res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_RESPONSE_BYTES)
    throw new AccordError("ERR_BODY_TOO_LARGE", "the TAXII server's answer is too large");
  const buf = await res.arrayBuffer();
  if (buf.byteLength > MAX_RESPONSE_BYTES)
    throw new AccordError("ERR_BODY_TOO_LARGE", "the TAXII server's answer is too large");
  return new TextDecoder().decode(buf);
}
