/**
 * The statement types every PostgreSQL repository shares: a named statement, the function that
 * runs one, and the executor the store hands each repository. In a file of their own so the
 * repository modules can import them without an import cycle through ./repos.ts.
 */
import type { QueryResultRow } from "pg";

/** A named statement, prepared once per connection under `name`, whose rows are `R`. */
export interface Sql<R extends QueryResultRow> {
  readonly name: string;
  readonly text: string;
  /** Never set: carries the row type. */
  readonly row?: R;
}

/** Runs one statement for the repositories; driver errors become ERR_STORAGE. */
export type Query = <R extends QueryResultRow>(
  failure: string,
  sql: Sql<R>,
  values: readonly unknown[],
) => Promise<{ rows: R[]; rowCount: number }>;

export interface Exec {
  readonly query: Query;
  /**
   * Run `work` atomically: in its own transaction on one connection when called through the
   * store, or inside the open transaction (one `atomic` at a time) when called through its repos.
   */
  readonly atomic: <T>(work: (query: Query) => Promise<T>) => Promise<T>;
}
