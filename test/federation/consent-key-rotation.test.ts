/**
 * Consent to an onward hop across the originator's key rotation (spec/agreement.md "Consent to
 * an onward hop", spec/federation.md "Key rotation"), over real HTTP between three real nodes:
 * XA originates and shares with XB under an agreement that allows onward hops; XA's consents are
 * signed with its first key; then XA rotates. Inside the overlap, a consent signed with the
 * previous key is still accepted by the holder (XB) and by the onward recipient (XC), which have
 * pinned XA's new key. Once XA retires the previous key, a consent signed with it is refused at
 * both: the holder no longer offers it (the hop is denied and logged there) and nothing is stored.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { signConsent } from "../../src/core/agreement/lifecycle.js";
import { jwkThumbprint, type NodeKeys } from "../../src/crypto/keys.js";
import {
  EXAMPLES,
  api,
  createNodeDir,
  introduce,
  makeTempDir,
  removeDir,
  start,
  type TestNodeDir,
} from "../support/nodes.js";

const ID = "regional-cyber-accord";
const ONWARD = "onward-pilot";
const bundle = JSON.parse(
  readFileSync(join(EXAMPLES, "demo", "ransomware-intrusion.json"), "utf8"),
) as unknown;
const source = readFileSync(join(EXAMPLES, "agreements", `${ID}.yaml`), "utf8")
  .replace(`agreement: ${ID}`, `agreement: ${ONWARD}`)
  .replace("allowed: false", "allowed: true\n  max_hops: 2");
const C2 = "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4";
const SECOND = "indicator--6cd8c12f-91de-4cc9-ae6b-51add0dc7e56";

describe("onward consent signed with the originator's previous key", () => {
  let root: string;
  let dirs: TestNodeDir[];
  let xa: RunningNode;
  let xb: RunningNode;
  let xc: RunningNode;
  let first: NodeKeys;

  /** The id XB holds XA's object under (minimization re-issues ids per agreement). */
  const heldAt = async (id: string) => {
    const copy = (await xa.store.recalls.copiesOf(id)).find((c) => c.recipient === "XB");
    if (copy === undefined) throw new Error(`XA never sent ${id} to XB`);
    return copy.sentAs;
  };
  /** A consent for `object` at XB, XB → XC, signed by hand with XA's first key. */
  const oldKeyConsent = (object: string) =>
    signConsent(
      {
        type: "accord-consent/1",
        originator: "XA",
        object,
        holder: "XB",
        recipient: "XC",
        agreement: ONWARD,
        purpose: "cyber-defence",
        expires: new Date(Date.now() + 86_400_000).toISOString(),
      },
      first.signing.privateKey,
    );
  const onwardShare = async (object: string) => {
    const r = await api(xb, "POST", "/api/v1/shares", {
      recipients: ["XC"],
      purpose: "cyber-defence",
      agreement: ONWARD,
      objects: [object],
    });
    expect(r.status).toBe(200);
    return r.body.outcomes[0] as { sent: number };
  };
  const atXc = async () =>
    (await xc.store.objects.list({ limit: 1000 })).filter(
      (o) => o.provenance.agreementId === ONWARD,
    );

  beforeAll(async () => {
    root = makeTempDir("accord-consent-rotation-");
    dirs = ["XA", "XB", "XC"].map((id) => createNodeDir(root, { id }));
    first = loadNodeKeys(join(dirs[0]!.dir, "keys", "node-keys.json"));
    [xa, xb, xc] = (await Promise.all(dirs.map((d) => start(d)))) as [
      RunningNode,
      RunningNode,
      RunningNode,
    ];
    await introduce([xa, xb, xc], { sign: false });
    for (const n of [xa, xb, xc])
      expect(
        (await api(n, "POST", "/api/v1/agreements", source, { "content-type": "application/yaml" }))
          .status,
      ).toBe(201);
    for (const n of [xa, xb, xc])
      expect((await api(n, "POST", `/api/v1/agreements/${ONWARD}/sign`, {})).status).toBe(200);
    expect((await api(xa, "POST", "/api/v1/bundles", bundle)).status).toBe(201);
    const shared = await api(xa, "POST", "/api/v1/shares", {
      recipients: ["XB"],
      purpose: "cyber-defence",
      agreement: ONWARD,
      objects: [C2, SECOND],
    });
    expect(shared.body.outcomes[0].sent).toBe(2);
    await xa.deliverNow();
    // Granted (and pushed to XB) before the rotation, so signed with XA's first key.
    const grant = await api(xa, "POST", "/api/v1/consents/grant", {
      object: C2,
      holder: "XB",
      recipient: "XC",
      agreement: ONWARD,
      purpose: "cyber-defence",
      expires: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect(grant.status).toBe(201);
    expect(grant.body.pushed).toEqual({ node: "XB", ok: true });
  });

  afterAll(async () => {
    for (const n of [xa, xb, xc]) await n.stop();
    removeDir(root);
  });

  it("inside the overlap: the holder keeps it and the onward recipient accepts the object", async () => {
    const rotated = await api(xa, "POST", "/api/v1/keys/rotate", { overlap: "1d" });
    expect(rotated.status).toBe(200);
    await xa.deliverNow();
    const next = xa.node.fingerprint();
    expect(next).not.toBe(jwkThumbprint(first.signing.publicJwk));
    for (const n of [xb, xc])
      expect(jwkThumbprint((await n.store.peers.get("XA"))?.signingKey as never)).toBe(next);

    // The holder takes a consent made with the previous key, handed over after the rotation.
    const handed = await api(xb, "POST", "/api/v1/consents", {
      consent: await oldKeyConsent(await heldAt(SECOND)),
    });
    expect(handed.status).toBe(201);

    // The onward recipient verifies the consent that travels with the object.
    expect((await onwardShare(await heldAt(C2))).sent).toBe(1);
    await xb.deliverNow();
    const held = await atXc();
    expect(held).toHaveLength(1);
    expect(held[0]!.provenance).toMatchObject({ originator: "XA", receivedFrom: "XB" });
  });

  it("after the previous key is retired: refused at the holder and at the onward recipient", async () => {
    const retired = await api(xa, "POST", "/api/v1/keys/retire", {});
    expect(retired.status).toBe(200);
    await xa.deliverNow();

    const handed = await api(xb, "POST", "/api/v1/consents", {
      consent: await oldKeyConsent(`${await heldAt(SECOND)}-not-held`),
    });
    expect(handed.status).toBe(401);
    expect(handed.body.code).toBe("ERR_SIGNATURE_INVALID");

    // XB still holds the consent it verified in the overlap, but no longer offers it: its key is
    // retired, so the hop is denied at the holder, logged, and nothing goes out.
    const outcome = (await onwardShare(await heldAt(SECOND))) as {
      sent: number;
      refused: number;
      verdicts: { effect: string; reasons: { clause: string }[] }[];
    };
    expect(outcome).toMatchObject({ sent: 0, refused: 1 });
    expect(outcome.verdicts[0]?.effect).toBe("deny");
    const decided = (await xb.store.ledger.list(0, 10_000)).filter((e) => e.kind === "decisions");
    expect(JSON.stringify(decided.at(-1)?.data)).toContain('"effect":"deny"');
    expect(await xb.store.outbox.list({ status: "pending", limit: 10 })).toHaveLength(0);
    await xb.deliverNow();
    expect(await atXc()).toHaveLength(1);
  });
});
