/**
 * Accord's provenance, carried on every shared object as a STIX 2.1 property extension
 * (STIX 2.1 §7.3, extension-definition) rather than ad-hoc `x_` properties. spec/provenance.md.
 *
 * The sender adds it after the decision and minimization; the recipient checks it against the
 * envelope, strips it, and keeps it as the stored object's provenance.
 */
import type { JsonObject, StixObject } from "./stix/object.js";

export const PROVENANCE_EXTENSION_ID = "extension-definition--8d4a5c3e-6b7f-4c1a-9e2d-3f5a7b9c1d2e";
export const ACCORD_IDENTITY_ID = "identity--5f2b8a34-1c6d-4e8f-a0b2-c4d6e8f0a2b4";

/** The extension-definition object itself, included in every shared bundle. */
export const PROVENANCE_EXTENSION_DEFINITION: StixObject = Object.freeze({
  type: "extension-definition",
  spec_version: "2.1",
  id: PROVENANCE_EXTENSION_ID,
  created_by_ref: ACCORD_IDENTITY_ID,
  created: "2026-11-26T00:00:00.000Z",
  modified: "2026-11-26T00:00:00.000Z",
  name: "Accord provenance",
  description: "Where an object shared through Accord came from and the terms it travels under.",
  schema: "https://accord.invalid/spec/provenance.md",
  version: "1.0.0",
  extension_types: ["property-extension"],
});

export interface ProvenanceExtension {
  readonly originator: string;
  readonly agreement: string;
  readonly agreement_version: number;
  readonly agreement_hash: string;
  readonly purpose: string;
  readonly retention_until: string;
  readonly onward_sharing: boolean;
  /**
   * On an onward hop only: the originator's signed consents for this hop (accord-consent/1,
   * spec/agreement.md). The recipient verifies them; they are absent on a first hop.
   */
  readonly consents?: readonly JsonObject[];
}

/** Whether an object carries Accord's provenance extension (well-formed or not). */
export function carriesProvenance(object: StixObject): boolean {
  const exts = object.extensions;
  return (
    exts !== null &&
    typeof exts === "object" &&
    !Array.isArray(exts) &&
    PROVENANCE_EXTENSION_ID in exts
  );
}

export function withProvenance(object: StixObject, p: ProvenanceExtension): StixObject {
  const existing = object.extensions;
  const extensions: JsonObject =
    existing !== undefined &&
    existing !== null &&
    typeof existing === "object" &&
    !Array.isArray(existing)
      ? { ...existing }
      : {};
  // Written member by member (one object literal, one shape for every object shared) rather than
  // with rest and spread, which cost more than the JSON of the object in the share bench.
  const extension: JsonObject = {
    extension_type: "property-extension",
    originator: p.originator,
    agreement: p.agreement,
    agreement_version: p.agreement_version,
    agreement_hash: p.agreement_hash,
    purpose: p.purpose,
    retention_until: p.retention_until,
    onward_sharing: p.onward_sharing,
  };
  if (p.consents !== undefined && p.consents.length > 0) extension.consents = [...p.consents];
  extensions[PROVENANCE_EXTENSION_ID] = extension;
  const out: JsonObject = {};
  for (const key of Object.keys(object)) {
    const value = object[key];
    if (value !== undefined) out[key] = value;
  }
  out.extensions = extensions;
  return out as StixObject;
}

/**
 * Split a received object into the object as stored and its provenance. Returns a string saying
 * what is wrong when the extension is missing or malformed (the object is attacker-controlled).
 */
export function splitProvenance(
  object: StixObject,
): { object: StixObject; provenance: ProvenanceExtension } | string {
  const exts = object.extensions;
  if (exts === undefined || exts === null || typeof exts !== "object" || Array.isArray(exts))
    return "the Accord provenance extension is missing";
  const raw = exts[PROVENANCE_EXTENSION_ID];
  if (raw === undefined || raw === null || typeof raw !== "object" || Array.isArray(raw))
    return "the Accord provenance extension is missing";
  const {
    originator,
    agreement,
    agreement_version,
    agreement_hash,
    purpose,
    retention_until,
    onward_sharing,
    consents,
  } = raw;
  if (
    typeof originator !== "string" ||
    typeof agreement !== "string" ||
    typeof agreement_version !== "number" ||
    typeof agreement_hash !== "string" ||
    typeof purpose !== "string" ||
    typeof retention_until !== "string" ||
    Number.isNaN(Date.parse(retention_until)) ||
    typeof onward_sharing !== "boolean" ||
    (consents !== undefined &&
      (!Array.isArray(consents) ||
        consents.length > 16 ||
        !consents.every((c) => c !== null && typeof c === "object" && !Array.isArray(c))))
  )
    return "the Accord provenance extension is malformed";
  const rest: Record<string, unknown> = {};
  let others = false;
  for (const k of Object.keys(exts))
    if (k !== PROVENANCE_EXTENSION_ID) {
      rest[k] = exts[k];
      others = true;
    }
  // Copied member by member, in order, leaving `extensions` out when nothing else is in it: a
  // `delete` would turn the object into a slow dictionary for every later reader (the accept
  // decision, JSON.stringify on the way into the store).
  const stripped: Record<string, unknown> = {};
  for (const k of Object.keys(object))
    if (k !== "extensions") stripped[k] = object[k];
    else if (others) stripped[k] = rest;
  return {
    object: stripped as StixObject,
    provenance: {
      originator,
      agreement,
      agreement_version,
      agreement_hash,
      purpose,
      retention_until,
      onward_sharing,
      ...(consents === undefined ? {} : { consents: consents as JsonObject[] }),
    },
  };
}
