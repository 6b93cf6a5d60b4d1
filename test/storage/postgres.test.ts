/**
 * The storage conformance suite against PostgreSQL, whenever ACCORD_TEST_PG_URL names a database
 * (CI always sets it). Each test gets a fresh schema with a random name, dropped afterwards, so
 * parallel test files never meet.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { describeStoreConformance } from "./conformance.js";
import { describeLogConformance } from "./conformance-log.js";
import { postgresLogHarness } from "./log-harness.js";
import { describeTaxiiConformance } from "./conformance-taxii.js";
import { describeAgreementStateConformance } from "./conformance-agreements.js";
import { describePeerProtocolConformance } from "./conformance-peer-protocol.js";
import { describeRetentionConformance } from "./conformance-retention.js";
import { describeMatchConformance } from "./conformance-match.js";
import { describeKeyConformance } from "./conformance-keys.js";

const url = process.env.ACCORD_TEST_PG_URL;
const freshSchema = (): string => `accord_test_${randomBytes(6).toString("hex")}`;

/** Run one statement on a connection of its own. */
async function sql(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url! });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

describe.skipIf(url === undefined)(
  url === undefined ? "postgres (skipped: set ACCORD_TEST_PG_URL to a database URL)" : "postgres",
  () => {
    let schema = freshSchema();
    /** Drop the schema a suite used and name a fresh one for the next. */
    const nextSchema = async (): Promise<void> => {
      await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      schema = freshSchema();
    };
    describeStoreConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describeLogConformance("postgres", ...postgresLogHarness(url!));
    describeTaxiiConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describeAgreementStateConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describeMatchConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describeRetentionConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describePeerProtocolConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );
    describeKeyConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      nextSchema,
    );

    it("stores a duplicate version without taking the date-added head (migration 26)", async () => {
      const own = freshSchema();
      const store = await openPostgresStore({ connectionString: url!, schema: own });
      const other = new pg.Client({ connectionString: url! });
      await other.connect();
      const object = (modified: string) => ({
        type: "indicator",
        spec_version: "2.1",
        id: "indicator--00000000-0000-4000-8000-000000000001",
        created: "2026-01-01T00:00:00.000Z",
        modified,
        name: "dup",
      });
      const entry = (modified: string) => ({
        object: object(modified),
        provenance: {
          originator: "XA",
          receivedFrom: null,
          agreementId: null,
          agreementVersion: null,
          purpose: null,
          retentionUntil: null,
          envelopeId: null,
        },
        storedAt: "2026-03-01T00:00:00.000Z",
      });
      const head = async () =>
        (await other.query(`SELECT next_seq, last_us FROM "${own}".object_added_head`)).rows[0];
      try {
        await store.migrate();
        expect(await store.objects.put(entry("2026-03-01T00:00:00.000Z"))).toBe("inserted");
        const before = await head();
        await store.transaction(async (tx) => {
          expect(await tx.objects.put(entry("2026-03-01T00:00:00.000Z"))).toBe("unchanged");
          // Another connection takes the head's row lock at once: the duplicate did not hold it.
          const locked = await other.query(
            `SELECT next_seq FROM "${own}".object_added_head FOR UPDATE NOWAIT`,
          );
          expect(locked.rowCount).toBe(1);
        });
        expect(await head()).toEqual(before);
        // A new version still takes the next seq and becomes the last one listed.
        expect(await store.objects.put(entry("2026-03-02T00:00:00.000Z"))).toBe("inserted");
        expect(Number((await head()).next_seq)).toBe(Number(before.next_seq) + 1);
        const listed = await store.objects.list({ limit: 10 });
        expect(listed.map((o) => o.object.modified)).toEqual(["2026-03-02T00:00:00.000Z"]);
      } finally {
        await other.end();
        await store.close();
        await sql(`DROP SCHEMA IF EXISTS "${own}" CASCADE`);
      }
    });

    it("applies a migration missing below the highest applied version", async () => {
      const gap = freshSchema();
      const first = await openPostgresStore({ connectionString: url!, schema: gap });
      const reached = await first.migrate();
      await first.close();
      // A database made by a build that lacked migration 6: its row and its tables are absent.
      await sql(
        `DELETE FROM "${gap}".schema_migrations WHERE version = 6; DROP TABLE "${gap}".match_requests, "${gap}".match_queries`,
      );
      const second = await openPostgresStore({ connectionString: url!, schema: gap });
      try {
        expect(await second.migrate()).toBe(reached);
        expect(await second.match.listRequests({ limit: 10 })).toEqual([]);
      } finally {
        await second.close();
        await sql(`DROP SCHEMA IF EXISTS "${gap}" CASCADE`);
      }
    });
  },
);
