/**
 * The running node enforces the agreement lifecycle (spec/agreement.md "Enforcement on a node"),
 * over real HTTP between three real nodes with real keys: an unsigned or half-signed version
 * never lets anything travel; signatures made on one node reach the other parties through the
 * signed exchange; the last signature puts the version in force everywhere; a suspension denies
 * and reaches the partners; a forged signature is refused with nothing written; an amendment
 * waits for its effective date.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { parseAgreement } from "../../src/core/agreement/parse.js";
import { signAgreement } from "../../src/core/agreement/lifecycle.js";
import { generateNodeKeys } from "../../src/crypto/keys.js";
import { signJson } from "../../src/crypto/sign.js";
import { EXCHANGE_TYPE } from "../../src/app/agreements.js";
import { AGREEMENT_EXCHANGE_PATH } from "../../src/federation/agreement-exchange.js";
import {
  addOnwardPilot,
  api,
  demoBundle,
  EXAMPLES,
  startNodes,
  type TestNodes,
} from "../support/nodes.js";
import { signedPost, signerOf } from "../support/peer-requests.js";

const ID = "regional-cyber-accord";
const bundle = demoBundle();
const v1Source = readFileSync(join(EXAMPLES, "agreements", `${ID}.yaml`), "utf8");
const SUSPECT = "identity--91b322a3-331d-4bac-94c2-019caaf4b63a";
const C2 = "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4";

/** Version 2: back to the pilot phase (indicators and malware only), in force from tomorrow. */
function amendment(): string {
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  return v1Source
    .replace("version: 1\n", "version: 2\nsupersedes: 1\n")
    .replace("current: expanded", "current: pilot")
    .replace("effective_from: 2026-01-01", `effective_from: "${tomorrow}"`);
}

describe("agreement enforcement between three nodes", () => {
  let nodes: TestNodes<"XA" | "XB" | "XC">;
  let xa: RunningNode;
  let xb: RunningNode;
  let xc: RunningNode;
  let offsetMs = 0;
  const clock = { now: () => new Date(Date.now() + offsetMs) };

  beforeAll(async () => {
    nodes = await startNodes(
      [
        { id: "XA", options: { clock } },
        { id: "XB", options: { clock } },
        { id: "XC", options: { clock } },
      ],
      { prefix: "accord-enforce-", sign: false },
    );
    ({ XA: xa, XB: xb, XC: xc } = nodes.nodes);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
  });

  afterAll(() => nodes.stop());

  const status = async (n: RunningNode) => {
    const r = await api(n, "GET", `/api/v1/agreements/${ID}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  const shareToXb = async (objects: string[] = [SUSPECT, C2]) => {
    const r = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreement: ID,
      objects,
    });
    expect(r.status).toBe(200);
    return r.body.outcomes[0];
  };
  const transitions = async (n: RunningNode) =>
    (await api(n, "GET", "/api/v1/ledger?limit=1000")).body.entries.filter(
      (e: { kind: string }) => e.kind === "agreement-transition",
    );

  it("an unsigned version is a draft: nothing travels, and the denial quotes the lifecycle", async () => {
    const s = await status(xa);
    expect(s).toMatchObject({
      id: ID,
      status: "draft",
      inForce: null,
      awaiting: ["XA", "XB", "XC"],
    });
    const out = await shareToXb();
    expect(out.sent).toBe(0);
    expect(out.verdicts[0].reasons).toContainEqual({
      effect: "deny",
      clause: `${ID} v1 §parties`,
      message: `denied: the agreement is draft: not signed by \`XA\`, \`XB\`, \`XC\` under \`${ID}\` v1 §parties`,
    });
  });

  it("half-signed: signatures made on XA and XB reach every party over HTTP, and sharing is still denied", async () => {
    const a = await api(xa, "POST", `/api/v1/agreements/${ID}/sign`, {});
    expect(a.status).toBe(200);
    expect(a.body.added).toBe(true);
    expect(a.body.pushed).toEqual([
      { node: "XB", ok: true },
      { node: "XC", ok: true },
    ]);
    const b = await api(xb, "POST", `/api/v1/agreements/${ID}/sign`, {});
    expect(b.body.view.versions[0]).toMatchObject({ signed: ["XA", "XB"], missing: ["XC"] });
    for (const n of [xa, xb, xc])
      expect(await status(n)).toMatchObject({ status: "proposed", awaiting: ["XC"] });
    const out = await shareToXb();
    expect(out.sent).toBe(0);
    expect(out.verdicts[0].reasons[0].message).toBe(
      `denied: the agreement is proposed: not signed by \`XC\` under \`${ID}\` v1 §parties`,
    );
    // Transitions are logged once each, with metadata only.
    const t = await transitions(xa);
    expect(t.map((e: any) => [e.data.from, e.data.to])).toEqual([
      [null, "draft"],
      ["draft", "proposed"],
    ]);
    expect(Object.keys(t[1].data).sort()).toEqual(
      [
        "agreement",
        "from",
        "hash",
        "missing",
        "signed",
        "suspendedParties",
        "to",
        "version",
      ].sort(),
    );
  });

  it("the last signature puts the version in force on every node, and the share goes through", async () => {
    const c = await api(xc, "POST", `/api/v1/agreements/${ID}/sign`, {});
    expect(c.status).toBe(200);
    for (const n of [xa, xb, xc]) {
      const s = await status(n);
      expect(s).toMatchObject({ status: "in-force", awaiting: [], inForce: { version: 1 } });
      expect(s.versions[0].signed).toEqual(["XA", "XB", "XC"]);
    }
    const out = await shareToXb();
    expect(out.sent).toBe(2);
    await xa.deliverNow();
    // (Minimization gives the copies new ids, so count what arrived.)
    const arrived = await xb.store.objects.list({ limit: 100 });
    expect(arrived).toHaveLength(2);
    for (const o of arrived)
      expect(o.provenance).toMatchObject({
        originator: "XA",
        agreementId: ID,
        agreementVersion: 1,
      });
    expect((await transitions(xb)).at(-1).data).toMatchObject({ from: "proposed", to: "in-force" });
    // Signing again changes nothing.
    const again = await api(xa, "POST", `/api/v1/agreements/${ID}/sign`, {});
    expect(again.body.added).toBe(false);
  });

  it("a suspension by a party denies, reaches the partners, and a resumption lifts it", async () => {
    const s = await api(xa, "POST", `/api/v1/agreements/${ID}/suspend`, { reason: "audit" });
    expect(s.status).toBe(200);
    expect(s.body.view.status).toBe("suspended");
    expect((await status(xb)).status).toBe("suspended");
    expect((await status(xb)).events).toEqual([
      expect.objectContaining({ kind: "suspend", by: "XA", recordedBy: "XA", reason: "audit" }),
    ]);
    const out = await shareToXb();
    expect(out.sent).toBe(0);
    expect(out.verdicts[0].reasons[0]).toMatchObject({
      clause: `${ID} v1 §lifecycle`,
      message: expect.stringContaining("the agreement is suspended: suspended by `XA`"),
    });
    // Only this node or an oversight body the agreement names may be recorded as the author.
    const bad = await api(xb, "POST", `/api/v1/agreements/${ID}/resume`, { by: "XC" });
    expect(bad.status).toBe(400);
    const r = await api(xb, "POST", `/api/v1/agreements/${ID}/resume`, {
      by: "Regional data-protection board",
    });
    expect(r.status).toBe(200);
    for (const n of [xa, xb, xc]) expect((await status(n)).status).toBe("in-force");
    expect((await shareToXb([C2])).sent).toBe(1);
  });

  it("an onward hop needs the originator's signed consent, which travels with the object and is checked by the recipient", async () => {
    // An agreement that allows onward hops (each still needs the originator's consent).
    await addOnwardPilot([xa, xb, xc], ID);
    const first = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreement: "onward-pilot",
      objects: [C2],
    });
    expect(first.body.outcomes[0].sent).toBe(1);
    await xa.deliverNow();
    const held = (await xb.store.objects.list({ limit: 1000 })).filter(
      (o) => o.provenance.agreementId === "onward-pilot",
    );
    expect(held).toHaveLength(1);
    const heldId = held[0]!.object.id;
    const onwardShare = () =>
      api(xb, "POST", "/api/v1/shares", {
        recipients: ["XC"],
        purpose: "cyber-defence",
        agreement: "onward-pilot",
        objects: [heldId],
      });

    const without = await onwardShare();
    expect(without.body.outcomes[0].sent).toBe(0);
    expect(without.body.outcomes[0].verdicts[0].reasons[0].message).toContain(
      "onward sharing needs the originator's consent",
    );

    const expires = new Date(Date.now() + 86_400_000).toISOString();
    // XA grants for its own (original) id; the consent names the id XB holds (re-issued or
    // not) and is pushed to XB over a signed peer request: no operator hands it over.
    const grant = await api(xa, "POST", "/api/v1/consents/grant", {
      object: C2,
      holder: "XB",
      recipient: "XC",
      agreement: "onward-pilot",
      purpose: "cyber-defence",
      expires,
    });
    expect(grant.status).toBe(201);
    expect(grant.body.consent.object).toBe(heldId);
    expect(grant.body.original).toBe(C2);
    expect(grant.body.pushed).toEqual({ node: "XB", ok: true });
    const atXb = await xb.store.agreementState.consentsFor("XB", heldId);
    expect(atXb.map((c) => c.jws)).toEqual([grant.body.consent.jws]);
    // A consent XA's key did not sign is refused at the holder, and nothing is kept.
    const forged = { ...grant.body.consent, recipient: "XA" };
    const refused = await api(xb, "POST", "/api/v1/consents", { consent: forged });
    expect(refused.status).toBe(401);
    expect(refused.body.detail).toContain("originator `XA`");
    // Pushed by a partner that is not its originator: refused, nothing kept.
    const relayed = await signedPost(
      xb,
      signerOf(nodes.dirs.XC.dir),
      "/federation/v1/consents",
      JSON.stringify({ consent: grant.body.consent }),
      "application/json",
    );
    expect(relayed.status).toBe(403);
    expect(relayed.body.detail).toContain("signed by partner `XC`");
    expect(await xb.store.agreementState.consentsFor("XB", heldId)).toHaveLength(1);
    const again = await api(xb, "POST", "/api/v1/consents", { consent: grant.body.consent });
    expect(again.status, "already held").toBe(200);

    const withConsent = await onwardShare();
    expect(withConsent.body.outcomes[0].sent).toBe(1);
    await xb.deliverNow();
    const atXc = (await xc.store.objects.list({ limit: 1000 })).filter(
      (o) => o.provenance.agreementId === "onward-pilot",
    );
    expect(atXc).toHaveLength(1);
    expect(atXc[0]!.provenance).toMatchObject({ originator: "XA", receivedFrom: "XB" });
    const logged = (await xa.store.ledger.list(0, 10_000)).filter((e) => e.kind === "consent");
    expect(logged).toHaveLength(1);
    expect(logged[0]!.data).toMatchObject({ holder: "XB", recipient: "XC", object: heldId });
    if (heldId !== C2) expect(logged[0]!.data.original).toBe(C2);
  });

  it("a forged signature is refused with an error naming the party, and nothing is written", async () => {
    const v2 = amendment();
    for (const n of [xa, xb, xc]) {
      const r = await api(n, "POST", "/api/v1/agreements", v2, {
        "content-type": "application/yaml",
      });
      expect(r.status).toBe(201);
    }
    const a2 = parseAgreement(v2);
    const xaKeys = loadNodeKeys(join(nodes.dirs.XA.dir, "keys", "node-keys.json"));
    const forger = generateNodeKeys();
    const body = {
      type: EXCHANGE_TYPE,
      from: "XA",
      to: "XB",
      at: clock.now().toISOString(),
      agreement: ID,
      version: 2,
      hash: a2.hash,
      signatures: [
        { node: "XA", jws: (await signAgreement(a2, "XA", xaKeys.signing.privateKey)).jws },
        { node: "XC", jws: (await signAgreement(a2, "XC", forger.signing.privateKey)).jws },
      ],
      events: [],
    };
    const before = await xb.store.ledger.size();
    const post = (m: unknown) =>
      signedPost(
        xb,
        signerOf(nodes.dirs.XA.dir),
        AGREEMENT_EXCHANGE_PATH,
        JSON.stringify(m),
        "application/json",
      );
    const r = await post({ ...body, jws: await signJson(body, xaKeys.signing.privateKey) });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe("ERR_SIGNATURE_INVALID");
    expect(r.body.detail).toContain("the signature of `XC`");
    expect(await xb.store.agreementState.signatures(ID, 2)).toEqual([]);
    expect(await xb.store.ledger.size()).toBe(before);
    // A message XA's key did not sign is refused too, whatever it carries.
    const unsigned = await post({
      ...body,
      signatures: [body.signatures[0]],
      jws: await signJson(body, forger.signing.privateKey),
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.detail).toContain("not signed by `XA`'s key");
    expect(await xb.store.agreementState.signatures(ID, 2)).toEqual([]);
    expect((await status(xb)).versions[1]).toMatchObject({ version: 2, status: "draft" });
  });

  it("an amendment signed by all waits for its effective date; then it governs", async () => {
    for (const n of [xa, xb, xc])
      expect((await api(n, "POST", `/api/v1/agreements/${ID}/sign`, { version: 2 })).status).toBe(
        200,
      );
    const s = await status(xa);
    expect(s.inForce).toMatchObject({ version: 1 });
    expect(s.versions.map((v: any) => [v.version, v.status])).toEqual([
      [1, "in-force"],
      [2, "not-yet-effective"],
    ]);
    const before = await shareToXb();
    expect(before.verdicts.find((v: any) => v.id === SUSPECT).effect).toBe("permit");
    expect(before.verdicts[0].reasons[0].clause).toMatch(new RegExp(`^${ID} v1 `));

    offsetMs = 2 * 86_400_000;
    try {
      const later = await status(xa);
      expect(later.versions.map((v: any) => [v.version, v.status])).toEqual([
        [1, "superseded"],
        [2, "in-force"],
      ]);
      const after = await shareToXb();
      const suspect = after.verdicts.find((v: any) => v.id === SUSPECT);
      expect(suspect.effect).toBe("deny");
      expect(suspect.reasons[0].clause).toBe(`${ID} v2 §phase.phases.pilot.types`);
      expect(after.verdicts.find((v: any) => v.id === C2).effect).toBe("permit");
    } finally {
      offsetMs = 0;
    }
  });
});
