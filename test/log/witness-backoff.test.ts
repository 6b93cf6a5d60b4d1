/**
 * The standalone witness backs off a log it cannot reach (spec/log.md, "Oversight witnesses"):
 * after each failure in a row the log sits out more passes (0, 1, 3, 7, then 15), so a node that
 * is down is tried at passes 1, 2, 4, 8, 16, ... The passes run without waiting (a no-op sleep).
 */
import { generateKeyPairSync } from "node:crypto";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { passesToSkip, run } from "../../src/cli/witness.js";
import { encodeVerifierKey, ED25519_TYPE } from "../../src/tlog/index.js";
import { makeTempDir, removeDir } from "../support/nodes.js";

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) =>
    server.close(() => {
      r();
    }),
  );
  return port;
}

describe("accord witness run: back-off from an unreachable node", () => {
  const root = makeTempDir();
  afterAll(() => {
    removeDir(root);
  });

  it("sits out 0, 1, 3, 7, then 15 passes after each failure in a row", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 20].map(passesToSkip)).toEqual([0, 0, 1, 3, 7, 15, 15, 15]);
  });

  it("tries an unreachable log at passes 1, 2, 4, 8 and 16 of 20, saying when it tries next", async () => {
    const dir = join(root, "w");
    const quiet = { out: () => undefined, err: () => undefined };
    expect(
      await main(["witness", "init", "--dir", dir, "--name", "oversight.example/w"], {}, quiet),
    ).toBe(0);
    const { publicKey } = generateKeyPairSync("ed25519");
    const raw = new Uint8Array(Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url"));
    const vkey = encodeVerifierKey("accord.log/XZ", ED25519_TYPE, raw);
    const url = `http://127.0.0.1:${String(await closedPort())}`;
    expect(
      await main(["witness", "add", "--dir", dir, "--url", url, "--vkey", vkey], {}, quiet),
    ).toBe(0);

    const lines: string[] = [];
    let pass = 0;
    const io = {
      out: (t: string) => lines.push(`${String(pass)} ${t}`),
      err: (t: string) => lines.push(`${String(pass)} ${t}`),
    };
    pass = 1;
    const code = await run(dir, false, 1000, io, {
      passes: 20,
      sleep: () => {
        pass++;
        return Promise.resolve();
      },
    });
    expect(code).toBe(5);
    const tried = lines.filter((l) => l.includes("could not be reached"));
    expect(tried.map((l) => Number(l.split(" ")[0]))).toEqual([1, 2, 4, 8, 16]);
    expect(tried[3]).toMatch(/4 passes in a row, next try in 8 passes/);
  });
});
