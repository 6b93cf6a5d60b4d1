/**
 * How each engine returns a column that holds JSON: SQLite stores the text, PostgreSQL's jsonb
 * arrives already decoded. The shared mappers take a `ReadJson` so one mapping serves both.
 */

/** The value a JSON column of type `C` holds. */
export type ReadJson<C> = (column: C) => unknown;

/** For a column holding JSON text (SQLite). */
export const jsonText: ReadJson<string> = (column) => JSON.parse(column);

/** For a column the driver has decoded already (PostgreSQL jsonb). */
export const jsonValue: ReadJson<unknown> = (column) => column;
