/**
 * Writes spec/vectors/envelope-example.json: fixed keys, a fixed header and payload, one sealed
 * envelope that must open, and negative vectors that must fail with a given code.
 *
 * JWE encryption is randomised (a fresh ephemeral X25519 key per envelope), so running this again
 * gives other envelopes; the committed file is the reference. Run:
 *   npx tsx test/crypto/make-envelope-vector.ts > spec/vectors/envelope-example.json
 *   npx prettier --write spec/vectors/envelope-example.json
 */
import { createHash } from "node:crypto";
import { decodeProtectedHeader } from "jose";
import { sealEnvelope, type EnvelopeHeader } from "../../src/crypto/envelope.js";
import { importNodeKeys, type NodeKeys } from "../../src/crypto/keys.js";
import { craft, type CraftOptions } from "./craft.js";
import { b64url, rawPrivateKey, rawPublicOf } from "./helpers.js";

/** The seed of each test key: SHA-256 of a public label. Never use these keys for anything real. */
export function exampleKeyFile(node: string): Record<string, unknown> {
  const seed = (role: string): Uint8Array =>
    new Uint8Array(
      createHash("sha256").update(`accord spec/envelope.md example key: ${node} ${role}`).digest(),
    );
  return {
    format: "accord-node-keys",
    version: 1,
    signing: rawPrivateKey("ed25519", seed("signing")).export({ format: "jwk" }),
    encryption: rawPrivateKey("x25519", seed("encryption")).export({ format: "jwk" }),
  };
}

async function main(): Promise<void> {
  const files = {
    "node-a": exampleKeyFile("node-a"),
    "node-b": exampleKeyFile("node-b"),
    "node-m": exampleKeyFile("node-m"),
  };
  const keys = (node: keyof typeof files): NodeKeys => importNodeKeys(JSON.stringify(files[node]));
  const a = keys("node-a");
  const b = keys("node-b");
  const m = keys("node-m");

  const header: EnvelopeHeader = {
    id: "3b241101-e2bb-4255-8caf-4136c566a962",
    sender: "node-a",
    recipient: "node-b",
    createdAt: "2026-11-26T12:00:00Z",
    contentType: "application/stix+json;version=2.1",
  };
  const payloadText = JSON.stringify({
    type: "bundle",
    id: "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
    objects: [
      {
        type: "indicator",
        spec_version: "2.1",
        id: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        created: "2026-11-26T11:00:00.000Z",
        modified: "2026-11-26T11:00:00.000Z",
        pattern: "[ipv4-addr:value = '198.51.100.7']",
        pattern_type: "stix",
        valid_from: "2026-11-26T11:00:00Z",
      },
    ],
  });
  const payload = new TextEncoder().encode(payloadText);
  const envelope = await sealEnvelope(
    header,
    payload,
    a.signing.privateKey,
    b.encryption.publicJwk,
  );
  const base: CraftOptions = { header, payload, sender: a, recipient: b };

  const segments = envelope.split(".");
  const withSegment = (i: number, value: string): string =>
    segments.map((s, j) => (j === i ? value : s)).join(".");
  const flipFirst = (s: string): string => (s.startsWith("A") ? "B" : "A") + s.slice(1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const tag = segments[4] ?? "";
  const sameBitsTag = tag.slice(0, -1) + (alphabet[alphabet.indexOf(tag.at(-1) ?? "A") ^ 1] ?? "");
  const outerHeader = decodeProtectedHeader(envelope);
  const at = (seconds: number): string =>
    new Date(Date.parse(header.createdAt) + seconds * 1000).toISOString();

  const negative = [
    {
      note: "addressed to another node",
      envelope,
      open: { expectedRecipient: "node-c" },
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "expired: now is 301 s after createdAt",
      envelope,
      open: { now: at(301) },
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "from the future: now is 301 s before createdAt",
      envelope,
      open: { now: at(-301) },
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "opened with node-m's keys",
      envelope,
      open: { recipientKeys: "node-m" },
      wantErrorCode: "ERR_DECRYPTION_FAILED",
    },
    {
      note: "ciphertext changed",
      envelope: withSegment(3, flipFirst(segments[3] ?? "")),
      wantErrorCode: "ERR_DECRYPTION_FAILED",
    },
    {
      note: "authentication tag changed",
      envelope: withSegment(4, flipFirst(tag)),
      wantErrorCode: "ERR_DECRYPTION_FAILED",
    },
    {
      note: "outer header re-encoded with another contentType (it is the AES-GCM additional data)",
      envelope: withSegment(
        0,
        b64url(JSON.stringify({ ...outerHeader, contentType: "text/plain" })),
      ),
      wantErrorCode: "ERR_DECRYPTION_FAILED",
    },
    {
      note: "non-canonical base64url: the tag's last character changed in unused bits only",
      envelope: withSegment(4, sameBitsTag),
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "not a JWE",
      envelope: "eyJhbGciOiJFZERTQSJ9.e30.AAAA",
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "signed with node-m's key, posing as node-a",
      envelope: await craft({ ...base, signWith: m.signing.privateKey }),
      wantErrorCode: "ERR_SIGNATURE_INVALID",
    },
    {
      note: "inner JWS with alg none",
      envelope: await craft({ ...base, inner: { alg: "none" } }),
      wantErrorCode: "ERR_SIGNATURE_INVALID",
    },
    {
      note: "inner JWS with alg HS256, keyed with node-a's public key",
      envelope: await craft({
        ...base,
        inner: { alg: "HS256" },
        signWith: rawPublicOf(a.signing.privateKey),
      }),
      wantErrorCode: "ERR_SIGNATURE_INVALID",
    },
    {
      note: "outer JWE with alg dir and enc A128GCM (a key the attacker chose)",
      envelope: await craft({
        ...base,
        outer: { alg: "dir", enc: "A128GCM" },
        encryptWith: new Uint8Array(16).fill(7),
      }),
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "outer id differs from the signed id",
      envelope: await craft({ ...base, outer: { id: "00000000-0000-4000-8000-000000000000" } }),
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "signed by node-a for node-c, re-encrypted to node-b by node-c",
      envelope: await craft({ ...base, inner: { recipient: "node-c" } }),
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
    {
      note: "from node-x, which is not a partner",
      envelope: await craft({ ...base, header: { ...header, sender: "node-x" } }),
      wantErrorCode: "ERR_ENVELOPE_INVALID",
    },
  ];

  const doc = {
    description:
      "A worked example of spec/envelope.md: node-a seals a STIX bundle to node-b. `envelope` must open with node-b's keys, `open` options and node-a's signing key, giving `header` and `payload`; each `negative` vector must fail with `wantErrorCode` (its `open` member, when present, changes the options: `recipientKeys` names whose key file to use, `now` and `expectedRecipient` replace the defaults).",
    source: "Accord, spec/envelope.md; generated by test/crypto/make-envelope-vector.ts",
    warning:
      "These keys come from public labels: each seed is SHA-256 of `accord spec/envelope.md example key: <node> <signing|encryption>`. Never use them for anything real.",
    keyFiles: files,
    open: {
      expectedRecipient: "node-b",
      now: "2026-11-26T12:01:00Z",
      maxSkewSeconds: 300,
      partners: ["node-a", "node-m"],
    },
    header,
    payload: payloadText,
    outerProtectedHeader: outerHeader,
    envelope,
    envelopeSha256: createHash("sha256").update(envelope).digest("hex"),
    negative,
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

await main();
