/**
 * The TAXII server on a PostgreSQL-backed node (whenever ACCORD_TEST_PG_URL is set, as in CI):
 * keyset pages under concurrent inserts and a partner view, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningNode } from "../../src/cli/compose.js";
import { systemClock, systemRandom } from "../../src/cli/compose.js";
import { TaxiiService, collectionId } from "../../src/app/taxii.js";
import {
  PG_URL,
  createNodeDir,
  dropSchemas,
  makeTempDir,
  removeDir,
  signAgreements,
  start,
  type TestNodeDir,
} from "../support/nodes.js";
import { RED, indicator, taxii } from "./helpers.js";

describe.skipIf(PG_URL === undefined)(
  PG_URL === undefined
    ? "TAXII on postgres (skipped: set ACCORD_TEST_PG_URL to a database URL)"
    : "TAXII on postgres",
  () => {
    let root: string;
    let dir: TestNodeDir;
    let xa: RunningNode;
    let token: string;

    beforeAll(async () => {
      root = makeTempDir("accord-taxii-pg-");
      dir = createNodeDir(root, { id: "XA", postgres: true });
      xa = await start(dir);
      await signAgreements([xa]);
      const service = new TaxiiService({
        node: xa.node,
        store: xa.store,
        apiToken: xa.apiToken,
        clock: systemClock,
        random: systemRandom,
      });
      token = (
        await service.createCredential({ id: "xb", partner: "XB", purpose: "cyber-defence" })
      ).token;
    });

    afterAll(async () => {
      await xa.stop();
      await dropSchemas([dir]);
      removeDir(root);
    });

    it("pages in date-added order while objects arrive, and a partner never sees a denied one", async () => {
      const local = `/taxii2/api/collections/${collectionId("XA", "local")}/objects/`;
      const op = `Bearer ${xa.apiToken}`;
      const post = (objects: unknown[]) => taxii(xa.url, local, { auth: op, body: { objects } });
      expect(
        (await post([indicator(1), indicator(2), indicator(3, { marking: RED })])).status,
      ).toBe(202);
      const names: string[] = [];
      let next: string | undefined;
      let page = 0;
      for (;;) {
        const r = await taxii(
          xa.url,
          `${local}?limit=2${next === undefined ? "" : `&next=${next}`}`,
          { auth: op },
        );
        names.push(...((r.body.objects ?? []) as { name: string }[]).map((o) => o.name));
        if (++page === 1) await post([indicator(4)]);
        if (!r.body.more) break;
        next = r.body.next as string;
      }
      expect(names).toEqual(["scanner 1", "scanner 2", "scanner 3", "scanner 4"]);

      const partner = await taxii(
        xa.url,
        `/taxii2/api/collections/${collectionId("XA", "partner:xb")}/objects/`,
        { auth: `Bearer ${token}` },
      );
      const seen = ((partner.body.objects ?? []) as { name: string }[]).map((o) => o.name).sort();
      expect(seen).toEqual(["scanner 1", "scanner 2", "scanner 4"]);
    });
  },
);
