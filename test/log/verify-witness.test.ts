/**
 * `accord log verify --witness VKEY --min-cosigs N` (spec/log.md, "Requiring witnesses"): a
 * verifier that recomputes a node's log also requires that witnesses it trusts cosigned it. Two
 * real nodes over HTTP: XA witnesses XB and sends the cosignature back; the verifier reads XB over
 * HTTP (token and signed partner requests) and from its SQLite file (log_cosignatures).
 */
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { witnessName } from "../../src/app/witness.js";
import type { RunningNode } from "../../src/cli/compose.js";
import { loadNodeKeys } from "../../src/cli/secrets.js";
import { generateNodeKeys } from "../../src/crypto/keys.js";
import { COSIGNATURE_TYPE, ED25519_TYPE, encodeVerifierKey } from "../../src/tlog/index.js";
import { ed25519RawPublic } from "../../src/tlog/note.js";
import { runCli as cli } from "../support/cli.js";
import { testEntry } from "../support/log-entries.js";
import { api, startNodes, type TestNodeDir, type TestNodes } from "../support/nodes.js";

const rawOf = (d: TestNodeDir): Uint8Array =>
  ed25519RawPublic(loadNodeKeys(join(d.dir, "keys", "node-keys.json")).signing.privateKey);

describe("accord log verify --witness", () => {
  let nodes: TestNodes<"XA" | "XB">;
  let xa: RunningNode;
  let xb: RunningNode;
  let xaWitness: string;
  let absent: string;
  let xbLog: string;

  beforeAll(async () => {
    nodes = await startNodes([{ id: "XA" }, { id: "XB" }]);
    ({ XA: xa, XB: xb } = nodes.nodes);
    xaWitness = encodeVerifierKey(witnessName("XA"), COSIGNATURE_TYPE, rawOf(nodes.dirs.XA));
    absent = encodeVerifierKey(
      "oversight.example/witness",
      COSIGNATURE_TYPE,
      ed25519RawPublic(generateNodeKeys().signing.privateKey),
    );
    xbLog = encodeVerifierKey("accord.log/XB", ED25519_TYPE, rawOf(nodes.dirs.XB));
    const w = await api(xa, "POST", "/api/v1/log/witness/XB");
    expect(w.body, JSON.stringify(w.body)).toMatchObject({ consistent: true, sentBack: true });
  }, 60_000);

  afterAll(() => nodes.stop());

  /** `accord log verify` of XB over HTTP with its API token. */
  const verifyXb = (...more: string[]) =>
    cli(["log", "verify", "--url", xb.url, "--token", xb.apiToken, ...more]);

  it("passes with the witness's cosignature on the latest checkpoint, over HTTP", async () => {
    const byToken = await verifyXb("--witness", xaWitness, "--json");
    expect(byToken.code, byToken.out + byToken.err).toBe(0);
    const doc = JSON.parse(byToken.out);
    expect(doc).toMatchObject({ ok: true, witnesses: { required: 1, cosigned: 1 } });
    expect(doc.witnesses.standings).toEqual([
      expect.objectContaining({
        witness: witnessName("XA"),
        status: "cosigned",
        latest: true,
        size: doc.size,
      }),
    ]);
    // As a partner (signed requests to /federation/v1/log), the same.
    const asPartner = await cli([
      "log",
      "verify",
      "--url",
      xb.url,
      "--dir",
      nodes.dirs.XA.dir,
      "--witness",
      xaWitness,
    ]);
    expect(asPartner.code, asPartner.out + asPartner.err).toBe(0);
    expect(asPartner.out).toContain(`${witnessName("XA")}: cosigned the latest checkpoint`);
  });

  it("fails with exit 4 naming the witness whose cosignature is missing, unless N allows it", async () => {
    const both = ["--witness", xaWitness, "--witness", absent];
    const strict = await verifyXb(...both);
    expect(strict.code).toBe(4);
    expect(strict.out).toMatch(/NOT WITNESSED: 1 of 2 required/);
    expect(strict.out).toMatch(/oversight\.example\/witness: MISSING/);
    const json = await verifyXb(...both, "--min-cosigs", "2", "--json");
    expect(json.code).toBe(4);
    expect(JSON.parse(json.out)).toMatchObject({
      ok: false,
      witnesses: { required: 2, cosigned: 1 },
    });
    const one = await verifyXb(...both, "--min-cosigs", "1");
    expect(one.code, one.out).toBe(0);
  });

  it("counts a cosignature on an earlier checkpoint whose root it recomputed, saying so", async () => {
    for (let i = 0; i < 3; i++) await xb.store.ledger.append(testEntry(i));
    const r = await verifyXb("--witness", xaWitness, "--json");
    expect(r.code, r.out + r.err).toBe(0);
    const doc = JSON.parse(r.out);
    const [standing] = doc.witnesses.standings;
    expect(standing).toMatchObject({ status: "cosigned", latest: false });
    expect(standing.size).toBeLessThan(doc.size);
  });

  it("reads cosignatures from a node's SQLite file, and refuses a tampered one as invalid", async () => {
    await api(xa, "POST", "/api/v1/log/witness/XB");
    const file = join(nodes.root, "copy.db");
    const live = new Database(join(nodes.dirs.XB.dir, "accord.db"));
    try {
      await live.backup(file);
    } finally {
      live.close();
    }
    const ok = await cli(["log", "verify", "--db", file, "--vkey", xbLog, "--witness", xaWitness]);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toContain(`${witnessName("XA")}: cosigned the latest checkpoint`);

    // One stored cosignature line is altered (its last signature byte): the witness is INVALID.
    const tampered = join(nodes.root, "tampered.db");
    copyFileSync(file, tampered);
    const db = new Database(tampered);
    try {
      const rows = db
        .prepare<[], { size: number; line: string }>("SELECT size, line FROM log_cosignatures")
        .all();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const [dash, name, b64] = row.line.split(" ");
        const bytes = Buffer.from(b64!, "base64");
        bytes[bytes.length - 1]! ^= 1;
        db.prepare("UPDATE log_cosignatures SET line = ? WHERE size = ?").run(
          `${dash!} ${name!} ${bytes.toString("base64")}`,
          row.size,
        );
      }
    } finally {
      db.close();
    }
    const bad = await cli([
      "log",
      "verify",
      "--db",
      tampered,
      "--vkey",
      xbLog,
      "--witness",
      xaWitness,
    ]);
    expect(bad.code).toBe(4);
    expect(bad.out).toMatch(/NOT WITNESSED: 0 of 1 required/);
    expect(bad.out).toContain(`${witnessName("XA")}: INVALID`);
  });

  it("refuses bad witness options as bad input (exit 3) before reading anything", async () => {
    const noWitness = await verifyXb("--min-cosigs", "1");
    expect(noWitness.code).toBe(3);
    expect(noWitness.err).toMatch(/--min-cosigs. needs at least one/);
    const logKey = await verifyXb("--witness", xbLog);
    expect(logKey.code).toBe(3);
    expect(logKey.err).toMatch(/not a cosignature key/);
    const garbage = await verifyXb("--witness", "not-a-vkey");
    expect(garbage.code).toBe(3);
    expect(garbage.err).toMatch(/--witness #1 is not a note verifier key/);
    const tooMany = await verifyXb("--witness", xaWitness, "--min-cosigs", "2");
    expect(tooMany.code).toBe(3);
    expect(tooMany.err).toMatch(/more cosignatures than the 1 distinct witness key/);
    const zero = await verifyXb("--witness", xaWitness, "--min-cosigs", "0");
    expect(zero.code).toBe(3);
  });
});
