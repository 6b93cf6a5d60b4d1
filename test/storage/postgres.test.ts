/**
 * The storage conformance suite against PostgreSQL, whenever ACCORD_TEST_PG_URL names a database
 * (CI always sets it). Each test gets a fresh schema with a random name, dropped afterwards, so
 * parallel test files never meet.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { describe } from "vitest";
import { openPostgresStore } from "../../src/storage/postgres/index.js";
import { describeStoreConformance } from "./conformance.js";
import { describeLogConformance } from "./conformance-log.js";
import { postgresLogHarness } from "./log-harness.js";
import { describeTaxiiConformance } from "./conformance-taxii.js";
import { describeAgreementStateConformance } from "./conformance-agreements.js";
import { describePeerProtocolConformance } from "./conformance-peer-protocol.js";
import { describeRetentionConformance } from "./conformance-retention.js";
import { describeMatchConformance } from "./conformance-match.js";

const url = process.env.ACCORD_TEST_PG_URL;
const freshSchema = (): string => `accord_test_${randomBytes(6).toString("hex")}`;

describe.skipIf(url === undefined)(
  url === undefined ? "postgres (skipped: set ACCORD_TEST_PG_URL to a database URL)" : "postgres",
  () => {
    let schema = freshSchema();
    describeStoreConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
    describeLogConformance("postgres", ...postgresLogHarness(url!));
    describeTaxiiConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
    describeAgreementStateConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
    describeMatchConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
    describeRetentionConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
    describePeerProtocolConformance(
      "postgres",
      () => openPostgresStore({ connectionString: url!, schema }),
      async () => {
        const client = new pg.Client({ connectionString: url! });
        await client.connect();
        try {
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        } finally {
          await client.end();
        }
        schema = freshSchema();
      },
    );
  },
);
