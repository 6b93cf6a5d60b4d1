/**
 * The PSI worker pool (src/compute): parallel PSI finds the same intersection as the
 * single-threaded party, byte for byte for the same keys, across chunk boundaries and from a
 * stream; a malformed peer element fails the call with its position; a closed pool refuses work;
 * and the workers start both from the TypeScript sources (this test, under vitest) and from
 * built JavaScript (the sources transpiled to a dist-like tree, run by plain `node`).
 */
import { execFile } from "node:child_process";
import {
  mkdtempSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import fc from "fast-check";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccordError } from "../../src/errors.js";
import { PSI_CHUNK, PsiPool, createParallelPsiParty } from "../../src/compute/index.js";
import {
  createPsiParty,
  intersect,
  intersectPacked,
  packElements,
  unpackElements,
} from "../../src/core/match/index.js";
import { loadGroup } from "../../src/crypto/oprf/index.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const utf8 = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

let pool: PsiPool;

beforeAll(async () => {
  pool = await PsiPool.start({ threads: 2 });
});

afterAll(async () => {
  await pool.close();
});

/** Both parties on the pool; A learns the indices of its items that B holds. */
async function parallelRun(a: readonly string[], b: readonly string[], context = "ctx") {
  const alice = await createParallelPsiParty(pool, { context });
  const bob = await createParallelPsiParty(pool, { context });
  const [aBlind, bBlind] = await Promise.all([
    alice.blind(a.map(utf8)),
    bob.blind(b.map(utf8), { shuffle: true }),
  ]);
  const [aDouble, bDouble] = await Promise.all([
    bob.exponentiate(aBlind),
    alice.exponentiate(bBlind),
  ]);
  return intersectPacked(aDouble, bDouble);
}

async function singleRun(a: readonly string[], b: readonly string[], context = "ctx") {
  const alice = await createPsiParty({ context });
  const bob = await createPsiParty({ context });
  const aDouble = bob.exponentiate(alice.blind(a.map(utf8)));
  const bDouble = alice.exponentiate(bob.blind(b.map(utf8), { shuffle: true }));
  return intersect(aDouble, bDouble);
}

describe("parallel DH-PSI on a worker pool", () => {
  it("finds the same intersection as the single-threaded party, for any two lists", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.string({ minLength: 0, maxLength: 10 }), { maxLength: 30 }),
        fc.uniqueArray(fc.string({ minLength: 0, maxLength: 10 }), { maxLength: 30 }),
        async (a, b) => {
          const want = a.flatMap((x, i) => (b.includes(x) ? [i] : []));
          expect(await parallelRun(a, b), "parallel").toEqual(want);
          expect(await singleRun(a, b), "single-threaded").toEqual(want);
        },
      ),
      { numRuns: 10 },
    );
  });

  it("gives the single-threaded party's bytes for the same key, across chunk boundaries", async () => {
    const g = await loadGroup();
    const key = g.randomScalar();
    const n = 2 * PSI_CHUNK + 7;
    const inputs = Array.from({ length: n }, (_, i) => utf8(`item-${String(i)}`));
    const single = await createPsiParty({ context: "agreement-1/epoch-2", secretKey: key });
    const parallel = await createParallelPsiParty(pool, {
      context: "agreement-1/epoch-2",
      secretKey: key,
    });
    const blinded = await parallel.blind(inputs);
    expect(blinded.length).toBe(n * 32);
    expect(unpackElements(blinded).map(hex)).toEqual(single.blind(inputs).map(hex));
    const peer = blinded.slice();
    const exponentiated = await parallel.exponentiate(peer);
    expect(unpackElements(exponentiated).map(hex)).toEqual(
      single.exponentiate(unpackElements(peer)).map(hex),
    );
  });

  it("reads inputs from an async stream with the same result as from a list", async () => {
    const g = await loadGroup();
    const key = g.randomScalar();
    const party = await createParallelPsiParty(pool, { context: "s", secretKey: key });
    const n = PSI_CHUNK + 3;
    async function* stream() {
      for (let i = 0; i < n; i++) {
        if (i % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
        yield utf8(String(i));
      }
    }
    const fromStream = await party.blind(stream());
    const fromList = await party.blind(Array.from({ length: n }, (_, i) => utf8(String(i))));
    expect(hex(fromStream)).toBe(hex(fromList));
  });

  it("finds the intersection of two lists spanning several chunks, with duplicates on the peer side", async () => {
    const a = Array.from({ length: 1500 }, (_, i) => `a-${String(i)}`);
    const b = [...a.filter((_, i) => i % 7 === 0), "x", "y", ...a.filter((_, i) => i % 7 === 0)];
    const found = await parallelRun(a, b);
    expect(found).toEqual(a.flatMap((_, i) => (i % 7 === 0 ? [i] : [])));
  });

  it("matches nothing across two contexts", async () => {
    const list = ["GB82WEST12345698765432", "alice@example.org"];
    const alice = await createParallelPsiParty(pool, { context: "agreement-1" });
    const bob = await createParallelPsiParty(pool, { context: "agreement-2" });
    const aDouble = await bob.exponentiate(await alice.blind(list.map(utf8)));
    const bDouble = await alice.exponentiate(await bob.blind(list.map(utf8)));
    expect(intersectPacked(aDouble, bDouble)).toEqual([]);
  });

  it("refuses a malformed peer element with its position, and stays usable", async () => {
    const party = await createParallelPsiParty(pool, { context: "ctx" });
    const peer = await party.blind(
      Array.from({ length: PSI_CHUNK + 10 }, (_, i) => utf8(String(i))),
    );
    peer.fill(0xff, (PSI_CHUNK + 4) * 32, (PSI_CHUNK + 5) * 32);
    let error: unknown;
    try {
      await party.exponentiate(peer);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AccordError);
    expect((error as AccordError).code).toBe("ERR_MALFORMED_INPUT");
    expect((error as AccordError).message).toContain(`position ${String(PSI_CHUNK + 4)}`);
    await expect(party.exponentiate(new Uint8Array(33))).rejects.toThrow(/32-byte/);
    expect((await party.blind([utf8("still works")])).length).toBe(32);
  });

  it("finds the first invalid peer element across chunks, as the group does on this thread", async () => {
    const g = await loadGroup();
    const party = await createParallelPsiParty(pool, { context: "ctx" });
    const peer = await party.blind(
      Array.from({ length: 2 * PSI_CHUNK + 7 }, (_, i) => utf8(String(i))),
    );
    expect(await pool.firstInvalid(peer)).toBe(-1);
    for (const at of [2 * PSI_CHUNK + 3, PSI_CHUNK, 5]) {
      const bad = peer.slice();
      bad.fill(0, at * 32, (at + 1) * 32); // the identity
      bad.fill(0xff, (2 * PSI_CHUNK + 5) * 32, (2 * PSI_CHUNK + 6) * 32); // and a later one
      expect(await pool.firstInvalid(bad)).toBe(at);
      expect(g.firstInvalid(bad)).toBe(at);
    }
    await expect(pool.firstInvalid(new Uint8Array(31))).rejects.toThrow(/32-byte/);
  });

  it("refuses work once closed", async () => {
    const small = await PsiPool.start({ threads: 1 });
    await small.close();
    const party = await createParallelPsiParty(small, { context: "ctx" });
    await expect(party.blind([utf8("x")])).rejects.toThrow(/closed/);
    await expect(PsiPool.start({ threads: 0 })).rejects.toThrow(RangeError);
  });
});

/**
 * Transpiles the layers the pool needs (errors, crypto, core, compute) to a dist-like tree of .js
 * files, laid out as `npm run build` lays out dist/.
 */
function buildJs(outDir: string): void {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
  const src = join(ROOT, "src");
  const files = [
    join(src, "errors.ts"),
    ...["crypto", "core", "compute"].flatMap((d) => walk(join(src, d))),
  ];
  for (const file of files) {
    const out = join(outDir, relative(src, file)).replace(/\.ts$/, ".js");
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
}

describe("workers from built JavaScript", () => {
  it("run under plain node from a dist-like tree and find the intersection", async () => {
    const dir = mkdtempSync(join(tmpdir(), "accord-psi-dist-"));
    try {
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
      writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
      buildJs(join(dir, "dist"));
      const script = join(dir, "run.js");
      writeFileSync(
        script,
        [
          `import { PsiPool, createParallelPsiParty } from "./dist/compute/index.js";`,
          `import { intersectPacked } from "./dist/core/match/index.js";`,
          `const enc = (s) => new TextEncoder().encode(s);`,
          `const pool = await PsiPool.start({ threads: 2 });`,
          `const a = await createParallelPsiParty(pool, { context: "c" });`,
          `const b = await createParallelPsiParty(pool, { context: "c" });`,
          `const A = Array.from({ length: 300 }, (_, i) => enc("x" + i));`,
          `const B = Array.from({ length: 300 }, (_, i) => enc("x" + (i * 2)));`,
          `const aD = await b.exponentiate(await a.blind(A));`,
          `const bD = await a.exponentiate(await b.blind(B, { shuffle: true }));`,
          `console.log(JSON.stringify(intersectPacked(aD, bD)));`,
          `await pool.close();`,
        ].join("\n"),
      );
      const { stdout } = await promisify(execFile)(process.execPath, [script], { cwd: dir });
      const found = JSON.parse(stdout) as number[];
      expect(found).toEqual(Array.from({ length: 150 }, (_, i) => i * 2));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Keep packElements in the public surface exercised from this layer's point of view.
it("packs what it unpacks", () => {
  const list = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
  expect(unpackElements(packElements(list)).map(hex)).toEqual(list.map(hex));
});
