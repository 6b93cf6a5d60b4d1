/**
 * Minimization on the share path (spec/minimization.md "On a node"), over real HTTP between real
 * nodes with real keys and SQLite: the agreement's profile is applied after the decision and
 * before provenance; the recipient stores pseudonyms and grades, never the address or the source;
 * tokens are stable within an agreement and epoch and differ across agreements; a detector whose
 * action is `refuse` denies with a reason quoting the clause and nothing is sent; an unknown
 * profile denies; the dry-run API shows the copy each partner would get.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import type { RunningNode } from "../../src/cli/compose.js";
import type { ShareOutcome } from "../../src/app/node.js";
import { expandDecisions } from "../../src/app/decision-log.js";
import {
  SOURCE_GRADE_EXTENSION_DEFINITION,
  SOURCE_GRADE_EXTENSION_ID,
} from "../../src/core/minimize/index.js";
import { PROVENANCE_EXTENSION_DEFINITION, withProvenance } from "../../src/core/provenance.js";
import { sealEnvelope } from "../../src/crypto/envelope.js";
import { verifyReceipt } from "../../src/crypto/receipt.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { signedPost, signerOf } from "../support/peer-requests.js";
import {
  api,
  createNodeDir,
  EXAMPLES,
  introduce,
  makeTempDir,
  removeDir,
  start,
  type TestNodeDir,
  demoBundle,
} from "../support/nodes.js";

const EMAIL = "k.varga.invoices@mailbox.example";
const EMAIL_ID = "email-addr--13f3d860-f00a-4986-98dd-537308ef22e7";
const SUSPECT = "identity--91b322a3-331d-4bac-94c2-019caaf4b63a";
const TOKEN = /^pseu-v1-[A-Za-z0-9_-]{22}@pseudonym\.invalid$/;
const IBAN = "DE89 3704 0044 0532 0130 00";
const TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

const indicator = (id: string, over: Record<string, unknown>) => ({
  type: "indicator",
  spec_version: "2.1",
  id,
  created: "2026-11-20T10:00:00.000Z",
  modified: "2026-11-20T10:00:00.000Z",
  name: "GlacierLock lure sender",
  indicator_types: ["malicious-activity"],
  pattern: "[domain-name:value = 'glacier-pay.example']",
  pattern_type: "stix",
  valid_from: "2026-11-20T10:00:00Z",
  object_marking_refs: [TLP_AMBER],
  ...over,
});
const MAIL_PATTERN = "indicator--0b8a2f57-3c44-4f6e-9d1e-6a7b8c9d0e1f";
const IBAN_INDICATOR = "indicator--1c9b3a68-4d55-4a7f-8e2f-7b8c9d0e1f2a";
const GRADED = "indicator--2dac4b79-5e66-4b80-9f30-8c9d0e1f2a3b";

const extra = [
  indicator(MAIL_PATTERN, { pattern: `[email-addr:value = '${EMAIL}']` }),
  indicator(IBAN_INDICATOR, { description: `Ransom payments went to ${IBAN}.` }),
  indicator(GRADED, {
    extensions: {
      [SOURCE_GRADE_EXTENSION_ID]: {
        extension_type: "property-extension",
        scheme: "admiralty",
        reliability: "C",
        credibility: 3,
        code: "C3",
      },
    },
  }),
];

/** A two-party copy of the regional accord (XA, XB) under another id, naming `profile`. */
function twoPartyAccord(id: string, profile: string): string {
  const src = readFileSync(join(EXAMPLES, "agreements", "regional-cyber-accord.yaml"), "utf8");
  const doc = parse(src) as Record<string, any>;
  doc.agreement = id;
  doc.parties = doc.parties.filter((p: { node: string }) => p.node !== "XC");
  doc.minimization = { profile };
  return stringify(doc);
}
const AGREEMENTS = {
  "cyber-one": "cyber-default",
  "cyber-two": "cyber-default",
  mystery: "no-such-profile",
} as const;

async function signEverywhere(nodes: readonly RunningNode[]): Promise<void> {
  // Agreements are in force once every party has signed (spec/agreement.md), where nodes govern them.
  for (const n of nodes) {
    const book = (n.node as unknown as { agreementBook?: { sign(id: string): Promise<unknown> } })
      .agreementBook;
    if (book === undefined) return;
    for (const id of Object.keys(AGREEMENTS)) await book.sign(id);
  }
}

describe("minimization on the share path", () => {
  let root: string;
  let dirs: TestNodeDir[];
  let xa: RunningNode;
  let xb: RunningNode;
  let first: ShareOutcome;
  let token: string;

  const share = async (agreementId: string, objectIds: string[]): Promise<ShareOutcome> => {
    const res = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreement: agreementId,
      objects: objectIds,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    await xa.deliverNow();
    return res.body.outcomes[0] as ShareOutcome;
  };
  const verdict = (o: ShareOutcome, id: string) => {
    const v = o.verdicts.find((x) => x.id === id);
    if (v === undefined) throw new Error(`no verdict for ${id}`);
    return v;
  };
  const heldAtXb = async (o: ShareOutcome, id: string) => {
    const sentAs = verdict(o, id).sentAs;
    expect(sentAs, `${id} was sent`).toBeDefined();
    const held = await xb.store.objects.get(sentAs!);
    expect(held, `${id} is held at XB as ${sentAs!}`).toBeDefined();
    return held!;
  };

  beforeAll(async () => {
    root = makeTempDir();
    dirs = [
      createNodeDir(root, { id: "XA", agreements: [] }),
      createNodeDir(root, { id: "XB", agreements: [] }),
    ];
    for (const d of dirs)
      for (const [id, profile] of Object.entries(AGREEMENTS))
        writeFileSync(join(d.dir, "agreements", `${id}.yaml`), twoPartyAccord(id, profile));
    // XA grades its own sources B2 unless an object carries its own grade.
    const cfgFile = join(dirs[0]!.dir, "accord.yaml");
    const cfg = parse(readFileSync(cfgFile, "utf8")) as Record<string, unknown>;
    cfg.minimization = { source_grade: { scheme: "admiralty", code: "B2" } };
    writeFileSync(cfgFile, stringify(cfg));
    xa = await start(dirs[0]!);
    xb = await start(dirs[1]!);
    await introduce([xa, xb]);
    await signEverywhere([xa, xb]);
    const bundle = demoBundle();
    bundle.objects.push(...extra);
    const ingest = await api(xa, "POST", "/api/v1/bundles", bundle);
    expect(ingest.status, JSON.stringify(ingest.body)).toBe(201);
  });

  afterAll(async () => {
    await xa.stop();
    await xb.stop();
    removeDir(root);
  });

  it("sends the e-mail as a pseudonym and the source as a grade; XB stores both, never the address", async () => {
    first = await share("cyber-one", [EMAIL_ID, SUSPECT, GRADED]);
    expect(first.sent).toBe(3);
    const mail = verdict(first, EMAIL_ID);
    expect(mail.profile).toBe("cyber-default");
    expect(mail.changes).toContainEqual(
      expect.objectContaining({ path: "value", action: "pseudonymized", kind: "email" }),
    );
    expect(mail.sentAs).not.toBe(EMAIL_ID);

    const held = await heldAtXb(first, EMAIL_ID);
    token = held.object.value as string;
    expect(token).toMatch(TOKEN);
    expect(held.provenance).toMatchObject({ originator: "XA", agreementId: "cyber-one" });

    const persona = await heldAtXb(first, SUSPECT);
    expect(persona.object).not.toHaveProperty("created_by_ref");
    expect(persona.object).not.toHaveProperty("x_iban");
    expect((persona.object.extensions as any)[SOURCE_GRADE_EXTENSION_ID]).toEqual({
      extension_type: "property-extension",
      scheme: "admiralty",
      reliability: "B",
      credibility: 2,
      code: "B2",
    });
    // An object's own grade wins over the node's default.
    const graded = await heldAtXb(first, GRADED);
    expect((graded.object.extensions as any)[SOURCE_GRADE_EXTENSION_ID].code).toBe("C3");

    const everything = JSON.stringify(await xb.store.objects.list({ limit: 1000 }));
    expect(everything).not.toContain("k.varga");
    expect(everything).not.toContain("7114dcb3"); // XA's own identity, the source, is not referenced
  });

  it("logs what minimization did as paths and kinds, never values", async () => {
    const log = await xa.store.ledger.list(0, 10_000);
    const decision = log
      .flatMap(expandDecisions)
      .find((e) => e.data.object === EMAIL_ID && e.data.partner === "XB");
    expect(decision?.data).toMatchObject({
      effect: "permit",
      profile: "cyber-default",
      sentAs: verdict(first, EMAIL_ID).sentAs,
    });
    expect(decision?.data.minimized).toContainEqual({
      path: "value",
      action: "pseudonymized",
      kind: "email",
    });
    const both = JSON.stringify([log, await xb.store.ledger.list(0, 10_000)]);
    expect(both).not.toContain("k.varga");
    expect(both).not.toContain(token);
  });

  it("gives the same token and the same ids in a second share under the same agreement and epoch", async () => {
    const again = await share("cyber-one", [EMAIL_ID, MAIL_PATTERN]);
    expect(verdict(again, EMAIL_ID).sentAs).toBe(verdict(first, EMAIL_ID).sentAs);
    const lure = await heldAtXb(again, MAIL_PATTERN);
    expect(lure.object.pattern).toBe(`[email-addr:value = '${token}']`);
  });

  it("gives another token and other ids under another agreement", async () => {
    const other = await share("cyber-two", [EMAIL_ID]);
    expect(other.sent).toBe(1);
    expect(verdict(other, EMAIL_ID).sentAs).not.toBe(verdict(first, EMAIL_ID).sentAs);
    const held = await heldAtXb(other, EMAIL_ID);
    expect(held.object.value).toMatch(TOKEN);
    expect(held.object.value).not.toBe(token);
  });

  it("denies an object a refusing detector fires on, quoting the clause, and sends nothing", async () => {
    const before = (await xa.store.outbox.list({ limit: 1000 })).length;
    const refused = await share("cyber-one", [IBAN_INDICATOR]);
    expect(refused.sent).toBe(0);
    expect(refused.envelopes).toEqual([]);
    const v = verdict(refused, IBAN_INDICATOR);
    expect(v.effect).toBe("deny");
    const reason = v.reasons.find((r) => r.clause === "cyber-one v1 §minimization.profile");
    expect(reason?.effect).toBe("deny");
    expect(reason?.message).toContain("`description` holds an IBAN");
    expect(JSON.stringify(v)).not.toContain("DE89");
    expect((await xa.store.outbox.list({ limit: 1000 })).length).toBe(before);
    const log = await xa.store.ledger.list(0, 10_000);
    const entry = log
      .flatMap(expandDecisions)
      .filter((e) => e.data.object === IBAN_INDICATOR)
      .at(-1);
    expect(entry?.data).toMatchObject({ effect: "deny", sentAs: null });
    expect(entry?.data.clauses).toContain("cyber-one v1 §minimization.profile");
    expect(JSON.stringify(log)).not.toContain("DE89");
  });

  it("denies under an agreement whose profile this node does not know", async () => {
    const res = await share("mystery", [EMAIL_ID]);
    expect(res.sent).toBe(0);
    expect(verdict(res, EMAIL_ID).reasons.map((r) => r.message)).toContain(
      "denied: the minimization profile `no-such-profile` named by `mystery` v1 §minimization.profile is not known to `XA`",
    );
  });

  it("shows in a dry run the minimized copy each partner would receive", async () => {
    const email = JSON.parse(
      readFileSync(join(EXAMPLES, "demo", "ransomware-intrusion.json"), "utf8"),
    ).objects.find((o: { id: string }) => o.id === EMAIL_ID);
    const res = await api(xa, "POST", "/api/v1/decisions/dry-run", {
      object: email,
      purpose: "cyber-defence",
    });
    expect(res.status).toBe(200);
    const under = (a: string) =>
      res.body.recipients.find((r: any) => r.partner === "XB" && r.agreement.id === a);
    expect(under("cyber-one").minimized).toMatchObject({
      profile: "cyber-default",
      effect: "permit",
      object: { id: verdict(first, EMAIL_ID).sentAs, value: token },
    });
    expect(under("mystery").minimized).toMatchObject({ effect: "deny" });
    expect(JSON.stringify(res.body)).not.toContain("k.varga");
  });

  it("refuses at ingest a source grade that is not a grade of its scheme", async () => {
    const bad = indicator("indicator--3ebd5c8a-6f77-4c91-a041-9d0e1f2a3b4c", {
      extensions: {
        [SOURCE_GRADE_EXTENSION_ID]: {
          extension_type: "property-extension",
          scheme: "europol-4x4",
          reliability: "E",
          credibility: 5,
        },
      },
    });
    const res = await api(xa, "POST", "/api/v1/bundles", {
      type: "bundle",
      id: "bundle--8c1f0e6a-7b2d-4c3e-9f4a-5b6c7d8e9f0a",
      objects: [bad],
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe("ERR_STIX_INVALID");
    expect(await xa.store.objects.get(bad.id)).toBeUndefined();
  });

  it("on receipt, refuses an object whose grade extension is malformed and stores the rest with their grades", async () => {
    const held = xa.node.listAgreements().find((a) => a.id === "cyber-one")!;
    const travel = (o: Record<string, unknown>) =>
      withProvenance(o as never, {
        originator: "XA",
        agreement: held.id,
        agreement_version: held.version,
        agreement_hash: held.hash,
        purpose: "cyber-defence",
        retention_until: "2027-01-01T00:00:00.000Z",
        onward_sharing: false,
      });
    const grade = (g: Record<string, unknown>) => ({
      extensions: {
        [SOURCE_GRADE_EXTENSION_ID]: { extension_type: "property-extension", ...g },
      },
    });
    const good = indicator("indicator--4fce6d9b-7a88-4da2-b152-0e1f2a3b4c5d", {
      ...grade({ scheme: "europol-4x4", reliability: "B", credibility: 2, code: "B2" }),
    });
    const bad = indicator("indicator--5adf7eac-8b99-4eb3-8263-1f2a3b4c5d6e", {
      ...grade({ scheme: "admiralty", reliability: "Z", credibility: 9 }),
    });
    const keys = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
    const peer = await xa.store.peers.get("XB");
    const id = crypto.randomUUID();
    const envelope = await sealEnvelope(
      {
        id,
        sender: "XA",
        recipient: "XB",
        createdAt: new Date().toISOString(),
        contentType: "application/stix+json;version=2.1",
      },
      new TextEncoder().encode(
        JSON.stringify({
          type: "bundle",
          id: "bundle--6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e",
          objects: [
            PROVENANCE_EXTENSION_DEFINITION,
            SOURCE_GRADE_EXTENSION_DEFINITION,
            travel(good),
            travel(bad),
          ],
        }),
      ),
      keys.signing.privateKey,
      peer!.encryptionKey as never,
    );
    const res = await signedPost(
      xb,
      signerOf(dirs[0]!.dir),
      "/federation/v1/inbox",
      envelope,
      "application/jose",
    );
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const xbPeer = await xa.store.peers.get("XB");
    const claims = await verifyReceipt(res.body.receipt, xbPeer!.signingKey as never);
    expect(claims.objects).toEqual([
      { id: good.id, version: "2026-11-20T10:00:00.000Z", outcome: "stored" },
      {
        id: bad.id,
        version: "2026-11-20T10:00:00.000Z",
        outcome: "rejected",
        reason: `\`${bad.id}\` carries a malformed Accord source-grade extension`,
      },
    ]);
    const stored = await xb.store.objects.get(good.id);
    expect((stored!.object.extensions as any)[SOURCE_GRADE_EXTENSION_ID].scheme).toBe(
      "europol-4x4",
    );
    expect(stored!.object.extensions as object).not.toHaveProperty(
      "extension-definition--8d4a5c3e-6b7f-4c1a-9e2d-3f5a7b9c1d2e",
    );
    expect(await xb.store.objects.get(bad.id)).toBeUndefined();
  });
});
