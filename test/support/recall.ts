/**
 * What the recall tests over real nodes share (test/federation/recall*.test.ts): the objects of
 * the demo bundle they recall, and the stores they run on.
 */
import { PG_URL } from "./nodes.js";

/** examples/demo/ransomware-intrusion.json: the GlacierLock command-and-control server indicator. */
export const C2 = "indicator--3e21fabf-8ff3-47a6-aacc-fbf7af46acb4";
/** The GlacierLock encryptor binary indicator. */
export const SECOND = "indicator--6cd8c12f-91de-4cc9-ae6b-51add0dc7e56";
/** The GlacierLock malware. */
export const MALWARE = "malware--35b2639d-9668-4b40-b8ba-5ba663257527";

/** SQLite always; XA and XB on PostgreSQL too when ACCORD_TEST_PG_URL is set. */
export const storeVariants = [
  { name: "SQLite", onPostgres: false },
  ...(PG_URL === undefined ? [] : [{ name: "XA and XB on PostgreSQL", onPostgres: true }]),
];
