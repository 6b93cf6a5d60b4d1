/** The CLI's client for a running node's own API (`/api/v1`), authenticated with the node's token. */
import { AccordError, ERROR_STATUS, type ErrorCode, type ErrorDetail } from "../errors.js";
import type { NodeConfig } from "./config.js";
import { loadApiToken } from "./secrets.js";

export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  static forConfig(config: NodeConfig): ApiClient {
    return new ApiClient(config.publicUrl, loadApiToken(config.apiTokenFile));
  }

  async call<T>(
    method: "GET" | "POST",
    path: string,
    body?: { json: unknown } | { text: string; type: string },
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      ...extraHeaders,
      authorization: `Bearer ${this.token}`,
      accept: "application/json",
    };
    let payload: string | undefined;
    if (body !== undefined && "json" in body) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body.json);
    } else if (body !== undefined) {
      headers["content-type"] = body.type;
      payload = body.text;
    }
    let res: Response;
    try {
      res = await fetch(new URL(`/api/v1${path}`, this.baseUrl), {
        method,
        headers,
        ...(payload === undefined ? {} : { body: payload }),
      });
    } catch (e) {
      throw new AccordError(
        "ERR_PEER_UNAVAILABLE",
        `the node at \`${this.baseUrl}\` is not reachable; start it with \`accord node start\``,
        { cause: e },
      );
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const p = (parsed ?? {}) as { code?: string; detail?: string; errors?: ErrorDetail[] };
      const code: ErrorCode =
        p.code !== undefined && p.code in ERROR_STATUS ? (p.code as ErrorCode) : "ERR_INTERNAL";
      throw new AccordError(code, p.detail ?? `the node answered ${res.status}`, {
        details: p.errors ?? [],
      });
    }
    return parsed as T;
  }
}
