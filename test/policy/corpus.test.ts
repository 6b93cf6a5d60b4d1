/**
 * The decision corpus (spec/policy.md "Corpus"): small YAML cases in the style of OPA's test
 * cases, one runner. Each file under test/policy/cases/ names a base agreement and a list of
 * cases; each case may patch the agreement, pick or patch an object, set the context, sign (or
 * half-sign, or forge) the agreement and any consents, record lifecycle events, and states what
 * it wants: `want_effect` with `want_reasons` (the clause paths of every reason, after `§`),
 * `want_drop` and `want_obligations`, or `want_error_code` when the agreement must be refused.
 *
 * Real Ed25519 keys are made for the nodes; signatures go through signAgreement /
 * verifySignatures / governAll and consents through signConsent / verifyConsent, so a forged
 * signature in a case is a real forged signature.
 */
import { readdirSync, readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { signJson } from "../../src/crypto/sign.js";
import { generateNodeKeys, type NodeKeys, type PublicJwk } from "../../src/crypto/keys.js";
import { parseAgreement, type Agreement } from "../../src/core/agreement/parse.js";
import {
  governAll,
  signAgreement,
  signConsent,
  signingPayload,
  verifyConsent,
  type AgreementSignature,
  type Consent,
  type ConsentBody,
  type LifecycleEvent,
} from "../../src/core/agreement/lifecycle.js";
import { decide, type DecisionContext } from "../../src/core/policy/decide.js";
import type { StixObject } from "../../src/core/stix/object.js";
import { TLP1_IDS, TLP2_IDS, type Tlp1Name, type TlpName } from "../../src/core/stix/tlp.js";
import { AccordError } from "../../src/errors.js";

type Json = Record<string, unknown>;

interface Case {
  note: string;
  agreement_patch?: Json;
  agreement_source?: string;
  signed_by?: string[];
  forged?: string[];
  events?: Omit<LifecycleEvent, "agreement">[];
  amend?: { patch?: Json; signed_by?: string[] };
  object?: string | Json;
  object_patch?: Json;
  context?: Json;
  consents?: (Partial<ConsentBody> & { signed_by?: string; forged?: boolean })[];
  want_effect?: "permit" | "deny";
  want_reasons?: string[];
  want_drop?: string[];
  want_obligations?: Json;
  want_error_code?: string;
}

interface CaseFile {
  note: string;
  base: string;
  cases: Case[];
}

const DIR = new URL("./cases/", import.meta.url);
const EXAMPLES = new URL("../../examples/agreements/", import.meta.url);
const FIXTURES = parseYaml(readFileSync(new URL("./fixtures.yaml", import.meta.url), "utf8")) as {
  objects: Record<string, Json>;
  bases: Record<string, Json>;
};
const NODES = ["XA", "XB", "XC", "XD"];
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

const keys = new Map<string, NodeKeys>();
let stranger: NodeKeys;
beforeAll(() => {
  for (const n of NODES) keys.set(n, generateNodeKeys());
  stranger = generateNodeKeys();
});

function baseDoc(name: string): Json {
  const inline = FIXTURES.bases[name];
  if (inline !== undefined) return structuredClone(inline);
  return parseYaml(readFileSync(new URL(`${name}.yaml`, EXAMPLES), "utf8")) as Json;
}

/** RFC 7396-style merge: objects merge, null deletes, anything else replaces. */
function merge(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out = new Map<string, unknown>(
    typeof target === "object" && target !== null && !Array.isArray(target)
      ? Object.entries(target)
      : [],
  );
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out.delete(k);
    else out.set(k, merge(out.get(k), v));
  }
  return Object.fromEntries(out);
}

/** `tlp2:red`, `tlp1:white` in marking references stand for the real marking-definition ids. */
function expandMarkings(v: unknown): unknown {
  if (typeof v === "string") {
    const m = /^tlp([12]):(.+)$/.exec(v);
    if (m?.[1] === "2") return TLP2_IDS[m[2] as TlpName];
    if (m?.[1] === "1") return TLP1_IDS[m[2] as Tlp1Name];
    return v;
  }
  if (Array.isArray(v)) return v.map(expandMarkings);
  if (typeof v === "object" && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, expandMarkings(x)]));
  return v;
}

function objectOf(c: Case): StixObject {
  const base =
    typeof c.object === "string" || c.object === undefined
      ? FIXTURES.objects[c.object ?? "indicator"]
      : c.object;
  if (base === undefined) throw new Error(`no fixture object \`${JSON.stringify(c.object)}\``);
  return expandMarkings(merge(base, c.object_patch ?? {})) as StixObject;
}

async function sign(a: Agreement, nodes: readonly string[], forged: readonly string[]) {
  const sigs: AgreementSignature[] = [];
  for (const n of nodes) {
    const k = keys.get(n);
    if (k === undefined) continue;
    // A node that is not a party can still offer a signature; signAgreement refuses to make one.
    sigs.push(
      a.doc.parties.some((p) => p.node === n)
        ? await signAgreement(a, n, k.signing.privateKey)
        : {
            ...signingPayload(a),
            node: n,
            jws: await signJson(signingPayload(a), k.signing.privateKey),
          },
    );
  }
  for (const n of forged) sigs.push(await signAgreement(a, n, stranger.signing.privateKey));
  return sigs;
}

async function run(file: CaseFile, c: Case) {
  const ctx: DecisionContext = {
    action: "share",
    self: "XA",
    partner: "XB",
    purpose: "cyber-defence",
    ...(c.context as Partial<DecisionContext>),
    at: new Date((c.context?.at as string | undefined) ?? "2026-06-01T00:00:00Z"),
  };
  const doc = merge(baseDoc(file.base), c.agreement_patch ?? {});
  const source = c.agreement_source ?? stringify(doc);
  let v1: Agreement;
  try {
    v1 = parseAgreement(source, "case.yaml");
  } catch (e) {
    if (c.want_error_code !== undefined && e instanceof AccordError) {
      expect(e.code, "error code").toBe(c.want_error_code);
      expect(e.message, "error position").toMatch(/^case\.yaml(:\d+:\d+)?: /);
      return;
    }
    throw e;
  }
  expect(c.want_error_code, "the agreement was accepted").toBeUndefined();
  const parties = v1.doc.parties.map((p) => p.node);
  const versions = [
    { agreement: v1, signatures: await sign(v1, c.signed_by ?? parties, c.forged ?? []) },
  ];
  if (c.amend !== undefined) {
    const v2 = parseAgreement(
      stringify(merge(doc, { ...c.amend.patch, version: v1.version + 1, supersedes: v1.version })),
    );
    versions.push({ agreement: v2, signatures: await sign(v2, c.amend.signed_by ?? parties, []) });
  }
  const jwks = new Map<string, PublicJwk>(
    [...keys].map(([n, k]) => [n, k.signing.publicJwk] as const),
  );
  const events = (c.events ?? []).map((e) => ({ ...e, agreement: v1.id }));
  const governed = await governAll(versions, jwks, events, ctx.at);
  const object = objectOf(c);
  const consents: Consent[] = [];
  for (const k of c.consents ?? []) {
    const originator = ctx.originator ?? "XC";
    const body: ConsentBody = {
      type: "accord-consent/1",
      originator,
      object: object.id,
      holder: ctx.self,
      recipient: ctx.partner,
      agreement: v1.id,
      purpose: ctx.purpose,
      expires: "2027-01-01T00:00:00Z",
      ...k,
    };
    delete (body as { signed_by?: string }).signed_by;
    delete (body as { forged?: boolean }).forged;
    const signer = k.forged === true ? stranger : (keys.get(k.signed_by ?? originator) ?? stranger);
    const signed = await signConsent(body, signer.signing.privateKey);
    const originatorKey = keys.get(originator)?.signing.publicJwk;
    if (originatorKey !== undefined && (await verifyConsent(signed, originatorKey)))
      consents.push(signed);
  }
  const d = decide(object, consents.length > 0 ? { ...ctx, consents } : ctx, governed);
  const paths = d.reasons.map((r) => (r.clause === "default" ? "default" : r.clause.split("§")[1]));
  const explained = d.reasons.map((r) => r.message).join("\n");
  if (c.want_effect !== undefined) expect(d.effect, `effect\n${explained}`).toBe(c.want_effect);
  if (c.want_reasons !== undefined)
    expect([...new Set(paths)].sort(), `reasons\n${explained}`).toEqual(
      [...new Set(c.want_reasons)].sort(),
    );
  for (const r of d.reasons) expect(r.message, "a reason quotes its clause").not.toBe("");
  if (c.want_drop !== undefined) {
    expect(d.effect).toBe("permit");
    if (d.effect === "permit")
      expect([...d.obligations.dropProperties].sort(), "dropped").toEqual([...c.want_drop].sort());
  }
  if (c.want_obligations !== undefined) {
    expect(d.effect).toBe("permit");
    if (d.effect === "permit") expect(d.obligations).toMatchObject(c.want_obligations);
  }
  // Determinism: the same inputs give the same decision.
  expect(decide(object, consents.length > 0 ? { ...ctx, consents } : ctx, governed)).toEqual(d);
}

const loaded = files.map((f) => ({
  name: f,
  file: parseYaml(readFileSync(new URL(f, DIR), "utf8")) as CaseFile,
}));

describe("the decision corpus", () => {
  it("holds at least 200 cases, each with a note and something it wants", () => {
    const all = loaded.flatMap((l) => l.file.cases);
    expect(all.length).toBeGreaterThanOrEqual(200);
    for (const c of all) {
      expect(c.note, "note").toBeTypeOf("string");
      expect(
        c.want_effect !== undefined || c.want_error_code !== undefined,
        `want in \`${c.note}\``,
      ).toBe(true);
    }
  });
  for (const { name, file } of loaded)
    describe(`${name}: ${file.note}`, () => {
      for (const c of file.cases) it(c.note, () => run(file, c));
    });
});
