/**
 * What the SQLite repositories share: how they reach the connection (`Exec`), and the objects
 * table's row with its mapping to a stored object. In a file of their own so each repository
 * module imports them without an import cycle through ./repos.ts.
 */
import type { StixObject } from "../../core/stix/object.js";
import type { StoredObject } from "../../app/ports.js";

/** How the repositories reach the connection. */
export interface Exec {
  /** Run one synchronous unit of work against the connection; driver errors become ERR_STORAGE. */
  run<T>(failure: string, op: () => T): Promise<T>;
  /** As `run`, but `op` is atomic: wrapped in BEGIN IMMEDIATE/COMMIT unless a transaction is open. */
  atomic<T>(failure: string, op: () => T): Promise<T>;
}

/** A row of the objects table. */
export interface ObjectRow {
  id: string;
  version: string;
  object: string;
  originator: string;
  received_from: string | null;
  agreement_id: string | null;
  agreement_version: number | null;
  purpose: string | null;
  retention_until: string | null;
  envelope_id: string | null;
  stored_at: string;
}

/** The stored object a row of the objects table holds. */
export function toStoredObject(row: ObjectRow): StoredObject {
  return {
    object: JSON.parse(row.object) as StixObject,
    provenance: {
      originator: row.originator,
      receivedFrom: row.received_from,
      agreementId: row.agreement_id,
      agreementVersion: row.agreement_version,
      purpose: row.purpose,
      retentionUntil: row.retention_until,
      envelopeId: row.envelope_id,
    },
    storedAt: row.stored_at,
  };
}
