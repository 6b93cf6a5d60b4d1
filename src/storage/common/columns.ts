/**
 * The columns whose type differs by engine, and how the shared mappers read them, so one mapping
 * serves both adapters.
 */

/**
 * A column holding JSON: SQLite stores the text, PostgreSQL's jsonb arrives already decoded.
 * `ReadJson<C>` gives the value a column of type `C` holds.
 */
export type ReadJson<C> = (column: C) => unknown;

/** For a column holding JSON text (SQLite). */
export const jsonText: ReadJson<string> = (column) => JSON.parse(column);

/** For a column the driver has decoded already (PostgreSQL jsonb). */
export const jsonValue: ReadJson<unknown> = (column) => column;

/**
 * A whole number that may exceed 2^31: INTEGER on SQLite (a number), bigint on PostgreSQL, which
 * the driver returns as decimal text. Read it with `Number`.
 */
export type BigintColumn = number | string;
