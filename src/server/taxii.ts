/**
 * The TAXII 2.1 HTTP binding (spec/taxii.md; OASIS TAXII 2.1 §3-§5), mounted at /taxii2/:
 *
 *   GET    /taxii2/                                          discovery
 *   GET    /taxii2/api/                                      the API root
 *   GET    /taxii2/api/status/{status-id}/                   a POST's status
 *   GET    /taxii2/api/collections/                          the collections you may see
 *   GET    /taxii2/api/collections/{id}/                     one collection
 *   GET    /taxii2/api/collections/{id}/manifest/            manifest records
 *   GET    /taxii2/api/collections/{id}/objects/             objects (envelope)
 *   POST   /taxii2/api/collections/{id}/objects/             add objects (202 + status)
 *   GET    /taxii2/api/collections/{id}/objects/{oid}/       one object
 *   DELETE /taxii2/api/collections/{id}/objects/{oid}/       delete one object
 *   GET    /taxii2/api/collections/{id}/objects/{oid}/versions/
 *
 * Every request authenticates (HTTP Basic or Bearer, src/app/taxii.ts), every response is
 * `application/taxii+json;version=2.1`, and every error is a TAXII error message resource that
 * carries Accord's stable code. Trailing slashes are optional.
 */
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  RouteHandlerMethod,
} from "fastify";
import { AccordError, httpStatusOf } from "../errors.js";
import type { AccordNode } from "../app/node.js";
import type { Clock, Random, Store } from "../app/ports.js";
import {
  API_ROOT,
  TAXII_MEDIA_TYPE,
  TaxiiService,
  type TaxiiCollection,
  type TaxiiPage,
  type TaxiiPrincipal,
  type TaxiiQuery,
} from "../app/taxii.js";
import { randomBytes, randomUUID } from "node:crypto";

export const TAXII_PREFIX = "/taxii2";

export interface TaxiiServerOptions {
  readonly node: AccordNode;
  readonly store: Store;
  readonly apiToken: string;
  readonly bodyLimit: number;
  /** The node's clock unless given: date added, statuses and partner views follow it. */
  readonly clock?: Clock;
  readonly random?: Random;
}

declare module "fastify" {
  interface FastifyRequest {
    taxiiPrincipal?: TaxiiPrincipal;
  }
}

const systemRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
  uuid: () => randomUUID(),
};

/** Mount the TAXII 2.1 server on `app` under /taxii2/. */
export function registerTaxii(app: FastifyInstance, opts: TaxiiServerOptions): void {
  const service = new TaxiiService({
    node: opts.node,
    store: opts.store,
    apiToken: opts.apiToken,
    clock: opts.clock ?? opts.node.clock,
    random: opts.random ?? systemRandom,
  });
  app.addHook("onClose", async () => {
    await service.flush();
  });
  void app.register(
    (t, _o, done) => {
      t.addContentTypeParser(
        "application/taxii+json",
        { parseAs: "string" },
        (_req, body, next) => {
          try {
            next(null, JSON.parse(body as string));
          } catch {
            next(new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON"), undefined);
          }
        },
      );
      t.setErrorHandler((err: FastifyError | AccordError, req, reply) =>
        sendTaxiiError(err, req, reply),
      );
      t.setNotFoundHandler((req, reply) =>
        sendTaxiiError(
          new AccordError(
            "ERR_NOT_FOUND",
            `no TAXII endpoint \`${req.method} ${req.url.split("?")[0] ?? ""}\``,
          ),
          req,
          reply,
        ),
      );
      t.addHook("onRequest", async (req) => {
        req.taxiiPrincipal = await service.authenticate(req.headers.authorization);
        if (!acceptsTaxii(req.headers.accept))
          throw new AccordError(
            "ERR_NOT_ACCEPTABLE",
            `this endpoint produces \`${TAXII_MEDIA_TYPE}\` only; send it in \`Accept\``,
          );
        if (req.method === "POST" && !isTaxiiContentType(req.headers["content-type"]))
          throw new AccordError(
            "ERR_UNSUPPORTED_MEDIA_TYPE",
            `send the envelope as \`${TAXII_MEDIA_TYPE}\``,
          );
      });

      const who = (req: FastifyRequest): TaxiiPrincipal => {
        if (req.taxiiPrincipal === undefined)
          throw new AccordError("ERR_UNAUTHENTICATED", "valid TAXII credentials are required");
        return req.taxiiPrincipal;
      };
      const send = (reply: FastifyReply, body: unknown, code = 200): FastifyReply =>
        reply
          .code(code)
          .header("content-type", TAXII_MEDIA_TYPE)
          .send(Buffer.from(JSON.stringify(body)));
      const route = (method: "GET" | "POST" | "DELETE", path: string, h: RouteHandlerMethod) => {
        t.route({ method, url: path, handler: h });
        if (path.endsWith("/") && path !== "/")
          t.route({ method, url: path.slice(0, -1), handler: h });
      };
      const root = `/${API_ROOT}/`;
      const coll = `${root}collections/:collection/`;

      route("GET", "/", (req, reply) => {
        who(req);
        const base = baseUrl(req);
        return send(reply, {
          title: `Accord node ${opts.node.id}`,
          description: "TAXII 2.1 over an Accord node: collections computed per agreement.",
          default: `${base}${root}`,
          api_roots: [`${base}${root}`],
        });
      });

      route("GET", root, (req, reply) => {
        who(req);
        return send(reply, {
          title: `Accord node ${opts.node.id}`,
          description: "The one API root of this node.",
          versions: [TAXII_MEDIA_TYPE],
          max_content_length: opts.bodyLimit,
        });
      });

      route("GET", `${root}status/:status/`, async (req, reply) => {
        const { status } = req.params as { status: string };
        return send(reply, await service.status(who(req), status));
      });

      route("GET", `${root}collections/`, async (req, reply) => {
        const list = await service.collections(who(req));
        return send(reply, list.length === 0 ? {} : { collections: list.map(collectionBody) });
      });

      route("GET", coll, async (req, reply) => {
        const { collection } = req.params as { collection: string };
        return send(reply, collectionBody(await service.collection(who(req), collection)));
      });

      route("GET", `${coll}manifest/`, async (req, reply) => {
        const { collection } = req.params as { collection: string };
        const page = await service.manifest(who(req), collection, parseQuery(req));
        dateHeaders(reply, page);
        return send(reply, {
          more: page.more,
          ...(page.next === undefined ? {} : { next: page.next }),
          ...(page.items.length === 0
            ? {}
            : {
                objects: page.items.map((i) => ({
                  id: i.id,
                  date_added: i.dateAdded,
                  version: i.version,
                  media_type: "application/stix+json;version=2.1",
                })),
              }),
        });
      });

      route("GET", `${coll}objects/`, async (req, reply) => {
        const { collection } = req.params as { collection: string };
        const page = await service.objects(who(req), collection, parseQuery(req));
        return sendEnvelope(reply, page);
      });

      route("POST", `${coll}objects/`, async (req, reply) => {
        const { collection } = req.params as { collection: string };
        return send(reply, await service.add(who(req), collection, req.body), 202);
      });

      route("GET", `${coll}objects/:object/`, async (req, reply) => {
        const { collection, object } = req.params as { collection: string; object: string };
        const page = await service.objects(who(req), collection, parseQuery(req), object);
        return sendEnvelope(reply, page);
      });

      route("DELETE", `${coll}objects/:object/`, async (req, reply) => {
        const { collection, object } = req.params as { collection: string; object: string };
        await service.remove(who(req), collection, object, parseQuery(req));
        return reply.code(200).header("content-type", TAXII_MEDIA_TYPE).send();
      });

      route("GET", `${coll}objects/:object/versions/`, async (req, reply) => {
        const { collection, object } = req.params as { collection: string; object: string };
        const page = await service.versions(who(req), collection, object, parseQuery(req));
        dateHeaders(reply, page);
        return send(reply, {
          more: page.more,
          ...(page.next === undefined ? {} : { next: page.next }),
          ...(page.items.length === 0 ? {} : { versions: page.items.map((i) => i.version) }),
        });
      });
      done();
    },
    { prefix: TAXII_PREFIX },
  );
}

function collectionBody(c: TaxiiCollection): Record<string, unknown> {
  return {
    id: c.id,
    title: c.title,
    description: c.description,
    can_read: c.canRead,
    can_write: c.canWrite,
    media_types: ["application/stix+json;version=2.1"],
  };
}

/**
 * The TAXII envelope of a page, written as text around the objects' JSON as the service holds it
 * (stored text for the local collection), so objects are not parsed and serialised again. Sent
 * as bytes: given a string, Fastify rewrites the content type to
 * `application/taxii+json; version="2.1"; charset=utf-8`, which taxii2client refuses.
 */
function sendEnvelope(reply: FastifyReply, page: TaxiiPage): FastifyReply {
  dateHeaders(reply, page);
  const next = page.next === undefined ? "" : `,"next":${JSON.stringify(page.next)}`;
  const objects =
    page.items.length === 0 ? "" : `,"objects":[${page.items.map((i) => i.json).join(",")}]`;
  return reply
    .code(200)
    .header("content-type", TAXII_MEDIA_TYPE)
    .send(Buffer.from(`{"more":${String(page.more)}${next}${objects}}`));
}

function dateHeaders(reply: FastifyReply, page: TaxiiPage): void {
  if (page.first !== undefined && page.last !== undefined) {
    void reply.header("X-TAXII-Date-Added-First", page.first);
    void reply.header("X-TAXII-Date-Added-Last", page.last);
  }
}

function baseUrl(req: FastifyRequest): string {
  return `${req.protocol}://${req.headers.host ?? "localhost"}${TAXII_PREFIX}`;
}

/** limit, next, added_after and match[...] from the query string; values split on commas. */
function parseQuery(req: FastifyRequest): TaxiiQuery {
  const raw = (req.query ?? {}) as Record<string, string | string[] | undefined>;
  const one = (k: string): string | undefined => {
    const v = raw[k];
    if (Array.isArray(v))
      throw new AccordError("ERR_BAD_REQUEST", `\`${k}\` may be given only once`);
    return v;
  };
  const match: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    const m = /^match\[([a-z_]+)\]$/.exec(k);
    if (m?.[1] === undefined || v === undefined) continue;
    const values = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(","));
    match[m[1]] = [...(match[m[1]] ?? []), ...values];
  }
  const limit = one("limit");
  const next = one("next");
  const addedAfter = one("added_after");
  return {
    ...(limit === undefined ? {} : { limit }),
    ...(next === undefined ? {} : { next }),
    ...(addedAfter === undefined ? {} : { addedAfter }),
    match,
  };
}

/** Media ranges from an Accept header, each with its parameters. */
function mediaRanges(header: string): { type: string; params: Record<string, string> }[] {
  return header.split(",").map((part) => {
    const [type = "", ...ps] = part.split(";").map((s) => s.trim().toLowerCase());
    const params: Record<string, string> = {};
    for (const p of ps) {
      const eq = p.indexOf("=");
      if (eq > 0)
        params[p.slice(0, eq).trim()] = p
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, "");
    }
    return { type, params };
  });
}

/**
 * TAXII 2.1 §1.6.8.1: clients send `application/taxii+json;version=2.1`; a missing version means
 * the latest (2.1 here). A missing header, `*\/*` or `application/*` also accept what we produce.
 */
function acceptsTaxii(header: string | undefined): boolean {
  if (header === undefined || header.trim() === "") return true;
  return mediaRanges(header).some(
    (r) =>
      r.params.q !== "0" &&
      (r.type === "*/*" ||
        r.type === "application/*" ||
        (r.type === "application/taxii+json" &&
          (r.params.version === undefined || r.params.version === "2.1"))),
  );
}

function isTaxiiContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const r = mediaRanges(header)[0];
  if (r?.type !== "application/taxii+json") return false;
  return r.params.version === undefined || r.params.version === "2.1";
}

/** TAXII 2.1 §3.6.1 error message resource, with Accord's code in `error_code`. */
function sendTaxiiError(
  err: FastifyError | AccordError,
  req: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const e = toAccordError(err);
  const status = httpStatusOf(e.code);
  if (status >= 500)
    req.log.error(
      { code: e.code, err: err instanceof AccordError ? undefined : err },
      "TAXII request failed",
    );
  if (status === 401)
    void reply.header(
      "WWW-Authenticate",
      'Basic realm="accord-taxii", Bearer realm="accord-taxii"',
    );
  return reply
    .code(status)
    .header("content-type", TAXII_MEDIA_TYPE)
    .send(
      Buffer.from(
        JSON.stringify({
          title: e.code,
          description:
            status >= 500 && !(err instanceof AccordError)
              ? "an internal error occurred"
              : e.message,
          error_id: randomUUID(),
          error_code: e.code,
          http_status: String(status),
          ...(e.details.length > 0 ? { details: { errors: e.details } } : {}),
        }),
      ),
    );
}

function toAccordError(err: FastifyError | AccordError): AccordError {
  if (err instanceof AccordError) return err;
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new AccordError("ERR_BODY_TOO_LARGE", "the body is larger than this node accepts");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new AccordError(
        "ERR_UNSUPPORTED_MEDIA_TYPE",
        `send the envelope as \`${TAXII_MEDIA_TYPE}\``,
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new AccordError("ERR_MALFORMED_INPUT", "the body is empty");
    default:
      if (err instanceof SyntaxError)
        return new AccordError("ERR_MALFORMED_INPUT", "the body is not valid JSON");
      if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500)
        return new AccordError("ERR_BAD_REQUEST", err.message);
      return new AccordError("ERR_INTERNAL", "an internal error occurred", { cause: err });
  }
}
