/**
 * `accord taxii ...` (spec/taxii.md, README "TAXII 2.1"):
 *
 *   taxii pull URL [--collection ID] [--user U --password-file F | --token-file F]
 *                  [--from PARTNER [--purpose X] [--agreement A]]
 *                  [--limit N] [--max-pages N] [--dir DIR] [--json]
 *       Pull a collection from any TAXII 2.1 server into the running node: pages with `next`,
 *       validates every object as STIX 2.1, ingests page by page, and after each page stores an
 *       `added_after` bookmark so the next pull (or one after a crash) resumes where this stopped.
 *       With --from, the server is that partner's: the objects are stored as the partner's
 *       (POST /api/v1/taxii-pulls: accept decision, provenance, retention), so its recalls and
 *       the retention purge reach them; without it they are ingested as this node's own, and a
 *       page holding objects with Accord provenance (another node's) is refused whole.
 *   taxii credential add --partner P --purpose X [--id ID] [--agreement A] [--write] [--dir DIR]
 *   taxii credential list [--dir DIR]
 *   taxii credential remove ID [--dir DIR]
 *       Issue, list and revoke the credentials partners use against this node's TAXII server.
 *       The secret is printed once; the node keeps only its SHA-256.
 */
import { parseArgs } from "node:util";
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AccordError } from "../errors.js";
import { validateBundle } from "../core/stix/validate.js";
import type { IngestResult } from "../app/node.js";
import type { PullPageResult } from "../app/taxii-pull.js";
import { issueTaxiiCredential, revokeTaxiiCredential } from "../app/taxii.js";
import { TaxiiClient, type TaxiiAuth, type TaxiiObjectsPage } from "../federation/taxii-client.js";
import type { StixObject } from "../core/stix/object.js";
import type { Clock } from "../app/ports.js";
import { ApiClient } from "./api-client.js";
import { loadConfig } from "./config.js";
import { openStore, systemClock, systemRandom } from "./compose.js";

export const BOOKMARKS_FILE = "taxii-bookmarks.json";
/** One ingest carries at most this many objects (`POST /api/v1/taxii-pulls` takes 10,000). */
const MAX_BATCH_OBJECTS = 10_000;
/** ... and about this much JSON, well under the node's default body limit (16 MiB). */
const DEFAULT_BATCH_BYTES = 4 << 20;

/** A fetched, validated page waiting for its ingest. */
interface PulledPage {
  readonly n: number;
  readonly count: number;
  /** The page's objects as JSON, without the enclosing brackets. */
  readonly text: string;
  readonly dateAddedLast?: string;
}
/** How far a resumed pull reaches back before its bookmark (see spec/taxii.md, "Client"). */
const OVERLAP_MS = 1;

interface Io {
  out(text: string): void;
  err(text: string): void;
}

interface Bookmark {
  readonly addedAfter: string;
  readonly updatedAt: string;
}

export interface PullReport {
  readonly apiRoot: string;
  readonly collection: string;
  readonly resumedFrom: string | null;
  readonly pages: number;
  readonly objects: number;
  readonly stored: number;
  readonly unchanged: number;
  /** Objects the accept decision refused (only with --from). */
  readonly rejected: number;
  /** Requests to the node's API (transactions): pages that arrive during one ingest go together. */
  readonly ingests: number;
  /** The partner the objects were stored as received from, or null (ingested as this node's). */
  readonly from: string | null;
  readonly bookmark: string | null;
  readonly complete: boolean;
}

/** Entry point from main.ts; returns the exit code or throws (main maps AccordError to codes). */
export async function taxiiCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  io: Io,
  /** The clock credentials are dated and logged by (the Clock port; tests inject one). */
  clock: Clock = systemClock,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        dir: { type: "string" },
        json: { type: "boolean" },
        collection: { type: "string" },
        user: { type: "string" },
        "password-file": { type: "string" },
        "token-file": { type: "string" },
        limit: { type: "string" },
        "max-pages": { type: "string" },
        from: { type: "string" },
        partner: { type: "string" },
        purpose: { type: "string" },
        id: { type: "string" },
        agreement: { type: "string" },
        write: { type: "boolean" },
      },
    });
  } catch (e) {
    throw usage(`accord taxii: ${(e as Error).message}`);
  }
  const { values, positionals } = parsed;
  const dir = values.dir ?? env.ACCORD_DIR ?? ".";
  const json = values.json === true;
  const print = (human: string, doc: unknown) => {
    io.out(json ? `${JSON.stringify(doc, null, 2)}\n` : `${human}\n`);
  };
  const [sub, ...rest] = positionals;

  if (sub === "pull") {
    const url = rest[0];
    if (url === undefined) throw usage("accord taxii pull URL [--collection ID] ...");
    const auth = authFrom(values);
    if (values.from === undefined && (values.purpose ?? values.agreement) !== undefined)
      throw usage("--purpose and --agreement go with --from PARTNER");
    const config = loadConfig(dir, env);
    // Said every time, on stderr (the JSON report stays clean): the pull makes this node the
    // originator of what it stores, which is right for a feed it may pass on and wrong for a
    // partner's data (an Accord node's partner collection is refused whole without --from).
    if (values.from === undefined)
      io.err(
        `note: without --from, what is pulled is stored as ${config.nodeId}'s own objects (${config.nodeId} their originator, shared under its agreements like anything it ingests, out of reach of any other node's recall or retention); pull a partner's server with --from PARTNER\n`,
      );
    const report = await pull({
      url,
      auth,
      api: ApiClient.forConfig(config),
      bookmarks: join(config.dir, BOOKMARKS_FILE),
      ...(values.collection === undefined ? {} : { collection: values.collection }),
      ...(values.from === undefined
        ? {}
        : {
            from: {
              partner: values.from,
              ...(values.purpose === undefined ? {} : { purpose: values.purpose }),
              ...(values.agreement === undefined ? {} : { agreementId: values.agreement }),
            },
          }),
      limit: positiveInt(values.limit, "limit", 1000),
      ...(values["max-pages"] === undefined
        ? {}
        : { maxPages: positiveInt(values["max-pages"], "max-pages", 1) }),
      onPage: (n, count) => {
        if (!json) io.err(`page ${n}: ${count} objects\n`);
      },
    });
    print(
      `pulled ${report.objects} objects in ${report.pages} pages from collection ${report.collection}${report.from === null ? "" : ` as ${report.from}'s`}: ${report.stored} new, ${report.unchanged} already held${report.from === null ? "" : `, ${report.rejected} refused`}${report.complete ? "" : " (stopped early; run again to continue)"}\nbookmark: ${report.bookmark ?? "none"}`,
      report,
    );
    return 0;
  }

  if (sub === "credential") {
    const action = rest[0];
    const config = loadConfig(dir, env);
    const store = await openStore(config);
    try {
      if (action === "add") {
        if (values.partner === undefined || values.purpose === undefined)
          throw usage("accord taxii credential add --partner P --purpose X [--id ID] [--write]");
        const id =
          values.id ?? `${values.partner}-${values.purpose}`.replace(/[^A-Za-z0-9_-]/g, "-");
        const r = await issueTaxiiCredential(
          { store, clock, random: systemRandom },
          {
            id,
            partner: values.partner,
            purpose: values.purpose,
            canWrite: values.write === true,
            ...(values.agreement === undefined ? {} : { agreementId: values.agreement }),
          },
        );
        print(
          `TAXII credential \`${id}\` for ${values.partner} (${values.purpose}${values.write === true ? ", read and write" : ", read only"})\nBasic:  user ${id}, password ${r.secret}\nBearer: ${r.token}\nHand it to the partner over a secure channel; it is not shown again.`,
          {
            id,
            partner: values.partner,
            purpose: values.purpose,
            secret: r.secret,
            token: r.token,
          },
        );
        return 0;
      }
      if (action === "list") {
        const list = (await store.taxii.listCredentials()).map(
          ({ secretHash: _h, ...rest }) => rest,
        );
        print(
          list.length === 0
            ? "no TAXII credentials"
            : list
                .map(
                  (c) =>
                    `${c.id}\t${c.partner}\t${c.purpose}\t${c.canWrite ? "read+write" : "read"}`,
                )
                .join("\n"),
          { credentials: list },
        );
        return 0;
      }
      if (action === "remove") {
        const id = rest[1];
        if (id === undefined) throw usage("accord taxii credential remove ID");
        await revokeTaxiiCredential({ store, clock }, id);
        print(`TAXII credential \`${id}\` revoked`, { id, revoked: true });
        return 0;
      }
      throw usage("accord taxii credential add|list|remove");
    } finally {
      await store.close();
    }
  }
  throw usage("accord taxii pull URL | accord taxii credential add|list|remove");
}

export interface PullOptions {
  readonly url: string;
  readonly auth: TaxiiAuth;
  /** The running node's own API, where pulled objects are ingested. */
  readonly api: ApiClient;
  /** The bookmarks file (JSON, keyed by API root and collection). */
  readonly bookmarks: string;
  readonly collection?: string;
  /**
   * The server is this partner's: store what it serves as the partner's (accept decision,
   * provenance, retention). For objects without Accord provenance, the purpose (and agreement)
   * they are accepted for.
   */
  readonly from?: {
    readonly partner: string;
    readonly purpose?: string;
    readonly agreementId?: string;
  };
  readonly limit: number;
  readonly maxPages?: number;
  /** The most JSON one ingest request carries (default 4 MiB); a larger page goes alone. */
  readonly batchBytes?: number;
  readonly onPage?: (page: number, objects: number) => void;
}

/** Pull one collection into the node, resuming from (and advancing) its bookmark. */
export async function pull(o: PullOptions): Promise<PullReport> {
  const client = new TaxiiClient({ auth: o.auth });
  const apiRoot = await client.resolveApiRoot(o.url);
  const collection = await chooseCollection(client, apiRoot, o.collection);
  const key = `${apiRoot} ${collection}`;
  const marks = readBookmarks(o.bookmarks);
  const resumedFrom = marks[key]?.addedAfter ?? null;
  let bookmark = resumedFrom;
  let afterDate = resumedFrom === null ? undefined : overlap(resumedFrom);
  let next: string | undefined;
  let pages = 0;
  let objects = 0;
  let stored = 0;
  let unchanged = 0;
  let rejected = 0;
  let ingests = 0;
  let complete = false;
  // Every page repeats the first request's filters with `next` (servers such as medallion
  // refuse a `next` whose parameters changed).
  const fetchPage = (): Promise<TaxiiObjectsPage> => {
    const p = client.objects(apiRoot, collection, {
      limit: o.limit,
      ...(afterDate === undefined ? {} : { addedAfter: afterDate }),
      ...(next === undefined ? {} : { next }),
    });
    p.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    return p;
  };
  // Pages are fetched one ahead and validated as they arrive. While one ingest is at the node,
  // the pages that arrive meanwhile wait and go together in the next one (up to MAX_BATCH_OBJECTS
  // objects and `batchBytes` of JSON): a slow node gets fewer, larger transactions (one durable
  // commit each) instead of idling between pages; a fast one gets every page as it comes. The
  // bookmark moves after each ingest, to its last page's date added; nothing later is written
  // before what came earlier is stored.
  const batchBytes = o.batchBytes ?? DEFAULT_BATCH_BYTES;
  let batch: PulledPage[] = [];
  let ingesting: Promise<void> | undefined;
  const flush = (): Promise<void> => {
    const taken = batch;
    batch = [];
    const run = (async () => {
      const texts = taken.filter((p) => p.count > 0).map((p) => p.text);
      if (texts.length > 0) {
        const r = await ingestTexts(o, texts, { apiRoot, collection });
        ingests++;
        stored += r.stored;
        unchanged += r.unchanged;
        rejected += r.rejected;
      }
      for (const p of taken) {
        objects += p.count;
        o.onPage?.(p.n, p.count);
        if (p.dateAddedLast !== undefined) bookmark = p.dateAddedLast;
      }
      if (bookmark !== marks[key]?.addedAfter && bookmark !== null) {
        marks[key] = { addedAfter: bookmark, updatedAt: new Date().toISOString() };
        writeBookmarks(o.bookmarks, marks);
      }
    })();
    run.catch(() => undefined); // awaited below; this only keeps an early failure from going unhandled
    return run;
  };
  const finishIngest = async (): Promise<void> => {
    const running = ingesting;
    ingesting = undefined;
    await running;
  };
  let pending: Promise<TaxiiObjectsPage> | undefined =
    o.maxPages !== undefined && o.maxPages < 1 ? undefined : fetchPage();
  for (;;) {
    if (ingesting === undefined && batch.length > 0) ingesting = flush();
    const room =
      batch.reduce((n, p) => n + p.count, 0) < MAX_BATCH_OBJECTS &&
      batch.reduce((n, p) => n + p.text.length, 0) < batchBytes;
    if (pending !== undefined && (room || ingesting === undefined)) {
      if (ingesting !== undefined) {
        const done = ingesting.then(() => true);
        // A failed fetch counts as arrived: it is thrown below, after the ingest.
        const finished = await Promise.race([
          done,
          pending.then(
            () => false,
            () => false,
          ),
        ]);
        if (finished) {
          await finishIngest();
          continue;
        }
      }
      let page: TaxiiObjectsPage;
      try {
        page = await pending;
      } catch (e) {
        // What was fetched before is ingested, and the bookmark with it.
        await finishIngest();
        if (batch.length > 0) await flush();
        throw e;
      }
      pages++;
      pending = undefined;
      // The next page is requested before this one is ingested, so the server's work and ours
      // overlap.
      const stuck = page.more && !advance(page);
      if (page.more && !stuck && (o.maxPages === undefined || pages < o.maxPages))
        pending = fetchPage();
      const problem = page.objects.length > 0 ? invalidPage(page.objects) : undefined;
      if (problem !== undefined) {
        // What came before this page is ingested first, so the bookmark names the last good page.
        await finishIngest();
        if (batch.length > 0) await flush();
        throw invalidPageError(problem, pages, bookmark);
      }
      batch.push({
        n: pages,
        count: page.objects.length,
        text: page.objects.length > 0 ? JSON.stringify(page.objects).slice(1, -1) : "",
        ...(page.dateAddedLast === undefined ? {} : { dateAddedLast: page.dateAddedLast }),
      });
      if (stuck) {
        await finishIngest();
        await flush();
        throw new AccordError(
          "ERR_BAD_REQUEST",
          "the TAXII server says there is more but gives neither `next` nor a new X-TAXII-Date-Added-Last",
        );
      }
      if (!page.more) complete = true;
      continue;
    }
    if (ingesting !== undefined) {
      await finishIngest();
      continue;
    }
    if (batch.length === 0) break;
  }

  /**
   * Move the cursor past `page`: its `next`, or (a server without `next`) its last date added;
   * false when the server gives neither.
   */
  function advance(page: TaxiiObjectsPage): boolean {
    if (page.next !== undefined) next = page.next;
    else if (page.dateAddedLast !== undefined && page.dateAddedLast !== afterDate) {
      next = undefined;
      afterDate = page.dateAddedLast;
    } else return false;
    return true;
  }
  return {
    apiRoot,
    collection,
    resumedFrom,
    pages,
    objects,
    stored,
    unchanged,
    rejected,
    ingests,
    from: o.from?.partner ?? null,
    bookmark,
    complete,
  };
}

/** The STIX 2.1 problems of one page, validated whole, or undefined when it is valid. */
function invalidPage(objects: readonly StixObject[]) {
  const verdict = validateBundle({ type: "bundle", id: `bundle--${crypto.randomUUID()}`, objects });
  return verdict.valid ? undefined : verdict.issues;
}

function invalidPageError(
  issues: NonNullable<ReturnType<typeof invalidPage>>,
  page: number,
  bookmark: string | null,
): AccordError {
  const f = issues[0];
  return new AccordError(
    "ERR_STIX_INVALID",
    `page ${page} from the TAXII server is not valid STIX 2.1 (nothing from it was ingested; the bookmark stays at ${bookmark ?? "the start"})${f === undefined ? "" : `: ${f.objectId === undefined ? "" : `\`${f.objectId}\` `}${f.path}: ${f.message}`}`,
    {
      details: issues.slice(0, 100).map((i) => ({
        path: i.path,
        message: i.message,
        code: i.code,
        ...(i.objectId === undefined ? {} : { objectId: i.objectId }),
      })),
    },
  );
}

/**
 * Ingest validated pages (each its objects' JSON without the brackets) through the node's API in
 * one request: as the node's own (`POST /api/v1/bundles`), or with --from as the partner's
 * (`POST /api/v1/taxii-pulls`). The body is written around the pages' text, so nothing is
 * serialised twice.
 */
async function ingestTexts(
  o: PullOptions,
  texts: readonly string[],
  source: { apiRoot: string; collection: string },
): Promise<{ stored: number; unchanged: number; rejected: number }> {
  const body = (head: Record<string, unknown>): string =>
    `${JSON.stringify({ ...head, objects: [] }).slice(0, -2)}${texts.join(",")}]}`;
  if (o.from !== undefined) {
    const r = await o.api.call<PullPageResult>("POST", "/taxii-pulls", {
      text: body({
        from: o.from.partner,
        ...(o.from.purpose === undefined ? {} : { purpose: o.from.purpose }),
        ...(o.from.agreementId === undefined ? {} : { agreement: o.from.agreementId }),
        source,
      }),
      type: "application/json",
    });
    return { stored: r.stored, unchanged: r.unchanged, rejected: r.rejected };
  }
  const r = await o.api.call<IngestResult>("POST", "/bundles", {
    text: body({ type: "bundle", id: `bundle--${crypto.randomUUID()}` }),
    type: "application/json",
  });
  return { stored: r.stored, unchanged: r.unchanged, rejected: 0 };
}

async function chooseCollection(
  client: TaxiiClient,
  apiRoot: string,
  wanted: string | undefined,
): Promise<string> {
  const list = await client.collections(apiRoot);
  if (wanted !== undefined) {
    const found = list.find((c) => c.id === wanted);
    if (found === undefined)
      throw new AccordError(
        "ERR_NOT_FOUND",
        `the API root \`${apiRoot}\` has no collection \`${wanted}\` for these credentials`,
      );
    if (!found.canRead)
      throw new AccordError(
        "ERR_FORBIDDEN",
        `collection \`${wanted}\` is not readable for these credentials`,
      );
    return found.id;
  }
  const readable = list.filter((c) => c.canRead);
  const only = readable[0];
  if (readable.length !== 1 || only === undefined)
    throw new AccordError(
      "ERR_BAD_REQUEST",
      readable.length === 0
        ? `the API root \`${apiRoot}\` has no collection these credentials can read`
        : `choose one with --collection: ${readable.map((c) => `${c.id} (${c.title})`).join(", ")}`,
    );
  return only.id;
}

/** The bookmark minus one millisecond: servers whose date_added has millisecond precision can give several objects one timestamp. */
function overlap(ts: string): string {
  const ms = Date.parse(ts);
  if (Number.isNaN(ms)) return ts;
  return new Date(ms - OVERLAP_MS).toISOString();
}

function readBookmarks(file: string): Record<string, Bookmark> {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, "utf8")) as unknown;
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error();
    return parsed as Record<string, Bookmark>;
  } catch {
    throw new AccordError(
      "ERR_MALFORMED_INPUT",
      `the TAXII bookmarks file \`${file}\` is not a JSON object; fix or remove it`,
    );
  }
}

/** Write the bookmarks atomically (temp file and rename), so a crash leaves the old or the new. */
function writeBookmarks(file: string, marks: Record<string, Bookmark>): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(marks, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

function authFrom(v: {
  user?: string | undefined;
  "password-file"?: string | undefined;
  "token-file"?: string | undefined;
}): TaxiiAuth {
  if (v["token-file"] !== undefined) {
    if (v.user !== undefined || v["password-file"] !== undefined)
      throw usage("give either --token-file or --user with --password-file, not both");
    return { kind: "bearer", token: secretFile(v["token-file"]) };
  }
  if (v.user !== undefined || v["password-file"] !== undefined) {
    if (v.user === undefined || v["password-file"] === undefined)
      throw usage("--user and --password-file go together");
    return { kind: "basic", user: v.user, password: secretFile(v["password-file"]) };
  }
  return { kind: "none" };
}

/** A secret from a file that only its owner can read (as ssh insists). */
function secretFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new AccordError("ERR_CONFIG_INVALID", `the secret file \`${path}\` does not exist`);
  }
  if ((mode & 0o077) !== 0)
    throw new AccordError(
      "ERR_KEYS_INVALID",
      `the secret file \`${path}\` is readable by others (mode ${(mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``,
    );
  const s = readFileSync(path, "utf8").trim();
  if (s === "") throw new AccordError("ERR_CONFIG_INVALID", `the secret file \`${path}\` is empty`);
  return s;
}

function positiveInt(raw: string | undefined, name: string, dflt: number): number {
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 1_000_000)
    throw new AccordError("ERR_BAD_REQUEST", `--${name} must be a positive integer`);
  return n;
}

function usage(text: string): AccordError {
  return new AccordError("ERR_BAD_REQUEST", `usage: ${text}`);
}
