/**
 * ACCORD_BENCH_COMMITS=1: what each COMMIT of this process's SQLite stores costs, for the share
 * bench's XA. Every `COMMIT` statement prepared after `watchCommits()` is timed (wall and process
 * CPU), and the WAL frames it wrote and whether it checkpointed are read from the wal-index header
 * in the `-shm` file (https://sqlite.org/walformat.html: mxFrame at byte 16, the checkpoint's
 * nBackfill at byte 96, native byte order). A commit's CPU includes the checkpoint SQLite runs in
 * it once the WAL holds `wal_autocheckpoint` pages.
 */
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";

interface Commit {
  readonly ms: number;
  readonly cpuMs: number;
  readonly frames: number;
  readonly checkpointed: boolean;
}

export interface CommitSummary {
  /** Commits that wrote at least `minFrames` WAL frames (the chunks and deliveries, not the small ones). */
  readonly commits: number;
  readonly msMean: number;
  readonly cpuMsMean: number;
  readonly framesMean: number;
  readonly checkpoints: number;
}

function walIndex(dbPath: string): { mxFrame: number; nBackfill: number } {
  const path = `${dbPath}-shm`;
  if (!existsSync(path)) return { mxFrame: 0, nBackfill: 0 };
  const buf = Buffer.alloc(100);
  const fd = openSync(path, "r");
  try {
    readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const le = endianness() === "LE";
  return {
    mxFrame: le ? buf.readUInt32LE(16) : buf.readUInt32BE(16),
    nBackfill: le ? buf.readUInt32LE(96) : buf.readUInt32BE(96),
  };
}

/** Start timing COMMITs prepared from now on; `take` returns and clears what was seen. */
export function watchCommits(minFrames = 40): { take(): CommitSummary } {
  let seen: Commit[] = [];
  type Prepare = (this: Database.Database, source: string) => Database.Statement;
  const proto = Database.prototype as unknown as { prepare: Prepare };
  const prepare = proto.prepare;
  proto.prepare = function (this: Database.Database, source: string): Database.Statement {
    const statement = prepare.call(this, source);
    if (source !== "COMMIT") return statement;
    const name = this.name;
    const run = statement.run.bind(statement);
    statement.run = (...args: unknown[]) => {
      const before = walIndex(name);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = run(...args);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const after = walIndex(name);
      seen.push({
        ms,
        cpuMs: (cpu.user + cpu.system) / 1000,
        // A WAL restarted by this commit holds only its frames.
        frames: after.mxFrame >= before.mxFrame ? after.mxFrame - before.mxFrame : after.mxFrame,
        checkpointed: after.nBackfill !== before.nBackfill,
      });
      return result;
    };
    return statement;
  };
  return {
    take() {
      const big = seen.filter((c) => c.frames >= minFrames);
      seen = [];
      const mean = (f: (c: Commit) => number): number =>
        big.length === 0
          ? 0
          : Math.round((big.reduce((a, c) => a + f(c), 0) / big.length) * 10) / 10;
      return {
        commits: big.length,
        msMean: mean((c) => c.ms),
        cpuMsMean: mean((c) => c.cpuMs),
        framesMean: mean((c) => c.frames),
        checkpoints: big.filter((c) => c.checkpointed).length,
      };
    },
  };
}
