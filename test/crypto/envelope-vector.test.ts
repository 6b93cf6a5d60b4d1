/**
 * The worked example of spec/envelope.md (spec/vectors/envelope-example.json): the sealed envelope
 * opens to the published header and payload, and every negative vector fails with its code.
 */
import { createHash } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import {
  openEnvelope,
  peekEnvelope,
  type EnvelopeHeader,
  type OpenEnvelopeOptions,
} from "../../src/crypto/envelope.js";
import { importNodeKeys, type NodeKeys, type PublicJwk } from "../../src/crypto/keys.js";
import { outcomeOf } from "./expect-error.js";
import { readVector } from "./helpers.js";

interface Vector {
  source: string;
  keyFiles: Record<string, { signing: { d: string }; encryption: { d: string } }>;
  open: { expectedRecipient: string; now: string; maxSkewSeconds: number; partners: string[] };
  header: EnvelopeHeader;
  payload: string;
  outerProtectedHeader: Record<string, unknown>;
  envelope: string;
  envelopeSha256: string;
  negative: {
    note: string;
    envelope: string;
    open?: { expectedRecipient?: string; now?: string; recipientKeys?: string };
    wantErrorCode: string;
  }[];
}

const v = readVector("envelope-example.json") as Vector;
const keys = new Map<string, NodeKeys>(
  Object.entries(v.keyFiles).map(([node, file]) => [node, importNodeKeys(JSON.stringify(file))]),
);
const partners = new Map<string, PublicJwk>(
  v.open.partners.map((node) => [node, keys.get(node)!.signing.publicJwk]),
);

function options(patch: Vector["negative"][number]["open"] = {}): OpenEnvelopeOptions {
  return {
    recipientKeys: keys.get(patch.recipientKeys ?? v.open.expectedRecipient)!,
    expectedRecipient: patch.expectedRecipient ?? v.open.expectedRecipient,
    senderKey: (sender) => Promise.resolve(partners.get(sender)),
    now: new Date(patch.now ?? v.open.now),
    maxSkewSeconds: v.open.maxSkewSeconds,
  };
}

describe("spec/vectors/envelope-example.json", () => {
  it("uses the keys its warning describes", () => {
    for (const [node, file] of Object.entries(v.keyFiles)) {
      for (const role of ["signing", "encryption"] as const) {
        const seed = createHash("sha256")
          .update(`accord spec/envelope.md example key: ${node} ${role}`)
          .digest("base64url");
        expect(file[role].d, `${node} ${role}`).toBe(seed);
      }
    }
  });

  it("opens to the published header and payload", async () => {
    const { header, payload } = await openEnvelope(v.envelope, options());
    expect(header).toEqual(v.header);
    expect(new TextDecoder().decode(payload)).toBe(v.payload);
    expect(peekEnvelope(v.envelope)).toEqual(v.header);
  });

  it("has the published hash and outer protected header", () => {
    expect(createHash("sha256").update(v.envelope).digest("hex")).toBe(v.envelopeSha256);
    expect(decodeProtectedHeader(v.envelope)).toEqual(v.outerProtectedHeader);
  });

  it.each(v.negative)("refuses: $note → $wantErrorCode", async (n) => {
    expect(await outcomeOf(() => openEnvelope(n.envelope, options(n.open)))).toBe(n.wantErrorCode);
  });

  it("has negative vectors for every failure code of openEnvelope", () => {
    expect(new Set(v.negative.map((n) => n.wantErrorCode))).toEqual(
      new Set(["ERR_ENVELOPE_INVALID", "ERR_DECRYPTION_FAILED", "ERR_SIGNATURE_INVALID"]),
    );
  });
});
