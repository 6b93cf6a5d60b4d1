/**
 * The operator's reads of stored objects through the node's API (`GET /api/v1/objects`,
 * `GET /api/v1/objects/:id`), each recorded in the log as an `access` entry before the answer
 * leaves (C7: every access is logged; spec/log.md). The entry holds what oversight needs to see
 * that a read happened and to check it against the objects later, never contents: who read (the
 * API's one principal, the operator), how many objects, a type filter if one was given, and a
 * SHA-256 over the ids and versions read (the same digest the TAXII read entries carry).
 *
 * A read whose entry cannot be written fails: no object leaves unlogged.
 */
import { versionOf } from "../core/stix/object.js";
import type { Clock, Store, StoredObject } from "./ports.js";
import { OPERATOR_USER, digestOf } from "./taxii.js";

export interface ObjectReadDeps {
  readonly store: Store;
  readonly clock: Clock;
}

/** One page of stored objects, oldest id first, logged as one `access` entry. */
export async function listObjects(
  d: ObjectReadDeps,
  q: { readonly limit: number; readonly type?: string; readonly afterId?: string },
): Promise<{ objects: StoredObject[]; more: boolean }> {
  const objects = await d.store.objects.list(q);
  const more = objects.length === q.limit;
  await logAccess(d, {
    op: "list-objects",
    ...(q.type === undefined ? {} : { type: q.type }),
    objects,
    more,
  });
  return { objects, more };
}

/** The latest stored version of `id` (undefined when none is held); the attempt is logged either way. */
export async function getObject(d: ObjectReadDeps, id: string): Promise<StoredObject | undefined> {
  const found = await d.store.objects.get(id);
  await logAccess(d, {
    op: "get-object",
    objects: found === undefined ? [] : [found],
    more: false,
  });
  return found;
}

async function logAccess(
  d: ObjectReadDeps,
  read: {
    readonly op: "list-objects" | "get-object";
    readonly type?: string;
    readonly objects: readonly StoredObject[];
    readonly more: boolean;
  },
): Promise<void> {
  const data = {
    via: "api",
    op: read.op,
    principal: OPERATOR_USER,
    ...(read.type === undefined ? {} : { type: read.type }),
    objects: read.objects.length,
    more: read.more,
    digest: digestOf(
      read.objects.map(({ object }) => ({ id: object.id, version: versionOf(object) })),
    ),
  };
  await d.store.transaction((tx) =>
    tx.ledger.append({ kind: "access", at: d.clock.now().toISOString(), data }),
  );
}
