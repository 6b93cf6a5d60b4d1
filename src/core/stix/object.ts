/**
 * The minimal shape every STIX 2.1 object shares, used across layers. The full typed model lives
 * in `./types.ts`; validation in `./validate.ts`.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

export interface StixObject {
  readonly type: string;
  readonly id: string;
  readonly spec_version?: string;
  readonly created?: string;
  readonly modified?: string;
  readonly [property: string]: JsonValue | undefined;
}

export interface StixBundle {
  readonly type: "bundle";
  readonly id: string;
  readonly objects: readonly StixObject[];
}

/**
 * The version key of an object: `modified` for versioned objects (SDOs, SROs, language content),
 * `created` when only that is present (marking definitions), and "" for objects without versions
 * (SCOs). Together with `id` it identifies one stored version.
 */
export function versionOf(o: StixObject): string {
  return o.modified ?? o.created ?? "";
}
