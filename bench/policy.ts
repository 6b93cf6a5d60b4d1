/**
 * Decision throughput (spec/policy.md "Performance", issue 3): `decide()` over a realistic
 * agreement set (10 agreements, mixed actions: share, accept, query, use, release, onward-share,
 * permits and denials) against `@cedar-policy/cedar-wasm` deciding the equivalent policy for the
 * same requests, in the same process run.
 *
 * Equivalence: each agreement becomes one Cedar `permit` per action whose conditions are the
 * agreement's (parties, purposes, types, TLP ceiling, dates, query types and budget, release
 * rule, purpose binding, onward consent); default deny is Cedar's. Both engines answer the same
 * permit/deny for every request (checked before timing). Ours also computes obligations,
 * properties to drop and reasons with clause paths; Cedar's answer is the effect only, so the
 * comparison favours Cedar. Cedar runs with a pre-parsed policy set (`statefulIsAuthorized`).
 *
 * Lines: `policy.decide` (decisions/s, with `ratio` = ours / Cedar's) and `policy.cedar`; each
 * also gives `cpuValue`, the rate per second of CPU time (and `cpuRatio`, ours / Cedar's).
 * `npx tsx bench/policy.ts` prints them as JSON lines. Wall-clock on a shared machine: compare
 * within one run.
 */
import { pathToFileURL } from "node:url";
import * as cedar from "@cedar-policy/cedar-wasm/nodejs";
import { stringify } from "yaml";
import { parseAgreement, type Agreement } from "../src/core/agreement/parse.js";
import { decide, type Action, type DecisionContext } from "../src/core/policy/decide.js";
import { toCedar } from "../src/core/policy/cedar.js";
import type { StixObject } from "../src/core/stix/object.js";
import { TLP2_IDS, TLP_ORDER, type TlpName } from "../src/core/stix/tlp.js";

export interface PolicyBenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly [extra: string]: unknown;
}

const MIN_SECONDS = 1.5;
const AT = new Date("2026-06-01T00:00:00Z");
const NODES = ["XA", "XB", "XC", "XD", "XE", "XF"];
const PURPOSES = ["cyber-defence", "serious-crime", "counter-terrorism", "aml-cft"];
const TYPES = ["indicator", "malware", "attack-pattern", "relationship", "identity"];
const LEVELS: TlpName[] = ["clear", "green", "amber", "amber+strict", "red"];
const PROPS = [
  "name",
  "description",
  "pattern",
  "pattern_type",
  "valid_from",
  "labels",
  "object_marking_refs",
];

/** Ten agreements, each over three or four of six nodes, with its own purposes, types and ceiling. */
export function agreements(): Agreement[] {
  const out: Agreement[] = [];
  for (let i = 0; i < 10; i++) {
    const parties = NODES.filter((_, j) => (i + j) % 3 !== 0);
    const permitted = [PURPOSES[i % 4] ?? "cyber-defence", PURPOSES[(i + 1) % 4] ?? "aml-cft"];
    const types = Object.fromEntries(
      TYPES.filter((_, j) => (i + j) % 4 !== 0).map((t) => [
        t,
        { properties: PROPS.slice(0, 4 + (i % 4)) },
      ]),
    );
    out.push(
      parseAgreement(
        stringify({
          agreement: `bench-accord-${String(i)}`,
          version: 1,
          title: `Bench accord ${String(i)}`,
          parties: parties.map((node) => ({ node })),
          purposes: { permitted, prohibited: ["political-monitoring"] },
          data: { types, subjects: { never: ["minor", "victim"] } },
          markings: { tlp_ceiling: LEVELS[1 + (i % 3)] },
          retention: { default_days: 90 + i },
          onward_sharing: { allowed: i % 2 === 0 },
          queries: {
            types: ["identity", "indicator"],
            budget_per_day: 50,
            release: i % 2 === 0 ? "automatic" : "on-approval",
          },
          decision_rights: { release: ["duty-officer"] },
          effective_from: "2026-01-01",
          sunset: "2027-06-30",
        }),
      ),
    );
  }
  return out;
}

interface Request {
  object: StixObject;
  ctx: DecisionContext;
}

/** A deterministic mix of requests: every action, permits and denials, drops and no drops. */
export function requests(n: number): Request[] {
  const actions: Action[] = [
    "share",
    "share",
    "share",
    "accept",
    "accept",
    "query",
    "use",
    "release",
    "onward-share",
  ];
  let seed = 7;
  const rnd = (m: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % m;
  };
  const out: Request[] = [];
  for (let i = 0; i < n; i++) {
    const type = TYPES[rnd(TYPES.length)] ?? "indicator";
    const level = LEVELS[rnd(4)] ?? "amber";
    const object: Record<string, unknown> = {
      type,
      spec_version: "2.1",
      id: `${type}--3e21fabf-8ff3-47a6-aacc-${String(100000000000 + i)}`,
      created: "2026-05-01T00:00:00.000Z",
      modified: "2026-05-01T00:00:00.000Z",
      name: "GlacierLock",
      description: "Ransomware family encrypting file shares.",
      object_marking_refs: [TLP2_IDS[level]],
    };
    if (rnd(3) === 0) object.labels = ["ransomware"];
    const self = NODES[rnd(NODES.length)] ?? "XA";
    const partner = NODES[rnd(NODES.length)] ?? "XB";
    const action = actions[rnd(actions.length)] ?? "share";
    const purpose = PURPOSES[rnd(PURPOSES.length)] ?? "cyber-defence";
    const agreementId = `bench-accord-${String(rnd(10))}`;
    const ctx: DecisionContext = {
      action,
      self,
      partner,
      purpose,
      at: AT,
      ...(action === "use"
        ? {
            receivedUnder: { agreement: agreementId, purpose: rnd(4) === 0 ? "aml-cft" : purpose },
            agreementId,
          }
        : {}),
      ...(action === "query" ? { queriesToday: rnd(60) } : {}),
      ...(action === "release" && rnd(2) === 0 ? { approvedBy: ["duty-officer"] } : {}),
      ...(action === "onward-share"
        ? {
            originator: partner === "XA" ? "XB" : "XA",
            consents:
              rnd(2) === 0
                ? []
                : [
                    {
                      type: "accord-consent/1" as const,
                      originator: partner === "XA" ? "XB" : "XA",
                      object: "*",
                      holder: self,
                      recipient: partner,
                      agreement: agreementId,
                      purpose,
                      expires: "2027-01-01T00:00:00Z",
                      jws: "",
                    },
                  ],
            agreementId,
          }
        : {}),
    };
    out.push({ object: object as StixObject, ctx });
  }
  return out;
}

// ------------------------------------------------------------------ the equivalent Cedar policy

function cedarCall(r: Request): cedar.StatefulAuthorizationCall {
  const o = r.object;
  const refs = o.object_marking_refs as string[];
  const level = (Object.entries(TLP2_IDS).find(([, id]) => id === refs[0])?.[0] ??
    "amber") as TlpName;
  const c = r.ctx;
  const originatorIsSelf = c.originator === undefined || c.originator === c.self;
  return {
    principal: { type: "Node", id: c.self },
    action: { type: "Action", id: c.action },
    resource: { type: "Object", id: o.id },
    context: {
      self: c.self,
      partner: c.partner,
      purpose: c.purpose,
      type: o.type,
      props: Object.keys(o),
      tlp: TLP_ORDER[level],
      day: Math.floor(c.at.getTime() / 86_400_000),
      agreement: c.agreementId ?? "",
      originator_is_self: originatorIsSelf,
      hops: c.hops ?? 1,
      consent_agreements: (c.consents ?? [])
        .filter((k) => k.recipient === c.partner && k.holder === c.self && k.purpose === c.purpose)
        .map((k) => k.agreement),
      queries_today: c.queriesToday ?? 0,
      received_agreement: c.receivedUnder?.agreement ?? "",
      received_purpose: c.receivedUnder?.purpose ?? "",
      approved_by: [...(c.approvedBy ?? [])],
    },
    preparsedPolicySetId: "accord-bench",
    entities: [],
  };
}

/** The best rates of one engine: by wall-clock time and by the process's CPU time. */
interface Rates {
  wall: number;
  cpu: number;
}

/**
 * Alternate slices of both engines and keep each one's best slice: on a shared machine the load
 * changes within a run, and interleaving exposes both engines to the same load. Each slice is
 * timed by the wall clock and by CPU time (`process.cpuUsage`, user + system), which a busy
 * machine disturbs less.
 */
function measurePair(
  a: { n: number; op: () => void },
  b: { n: number; op: () => void },
): [Rates, Rates] {
  a.op();
  b.op();
  const best: [Rates, Rates] = [
    { wall: 0, cpu: 0 },
    { wall: 0, cpu: 0 },
  ];
  const start = performance.now();
  for (let slice = 0; slice < 12 || performance.now() - start < MIN_SECONDS * 2; slice++) {
    const which = slice % 2;
    const x = which === 0 ? a : b;
    let rounds = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    while (rounds < 1 || performance.now() - t0 < 100) {
      x.op();
      rounds++;
    }
    const wall = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(c0);
    const cpu = (used.user + used.system) / 1e6;
    const r = which === 0 ? best[0] : best[1];
    r.wall = Math.max(r.wall, (x.n * rounds) / wall);
    if (cpu > 0) r.cpu = Math.max(r.cpu, (x.n * rounds) / cpu);
    if (slice > 200) break;
  }
  for (const r of best) {
    r.wall = Math.round(r.wall);
    r.cpu = Math.round(r.cpu);
  }
  return best;
}

export function run(): Promise<PolicyBenchResult[]> {
  const as = agreements();
  const reqs = requests(4096);
  const parsed = cedar.preparsePolicySet("accord-bench", { staticPolicies: toCedar(as) });
  if (parsed.type !== "success")
    throw new Error(`cedar refused the policy set: ${JSON.stringify(parsed)}`);
  const calls = reqs.map(cedarCall);

  // Equivalence, checked before timing.
  let permits = 0;
  for (const [i, r] of reqs.entries()) {
    const ours = decide(r.object, r.ctx, as).effect;
    const call = calls[i];
    if (call === undefined) continue;
    const answer = cedar.statefulIsAuthorized(call);
    if (answer.type !== "success") throw new Error(`cedar failed: ${JSON.stringify(answer)}`);
    const theirs = answer.response.decision === "allow" ? "permit" : "deny";
    if (ours !== theirs)
      throw new Error(
        `request ${String(i)} (${r.ctx.action} ${r.object.type}): decide says ${ours}, cedar says ${theirs}`,
      );
    if (ours === "permit") permits++;
  }

  let sink = 0;
  const cedarSample = calls.slice(0, 64);
  const [ours, theirs] = measurePair(
    {
      n: reqs.length,
      op: () => {
        for (const r of reqs) if (decide(r.object, r.ctx, as).effect === "permit") sink++;
      },
    },
    {
      n: cedarSample.length,
      op: () => {
        for (const c of cedarSample) if (cedar.statefulIsAuthorized(c).type === "success") sink++;
      },
    },
  );
  if (sink < 0) throw new Error("unreachable");
  const shared = {
    agreements: as.length,
    requests: reqs.length,
    permitRate: +(permits / reqs.length).toFixed(3),
  };
  return Promise.resolve([
    {
      bench: "policy.decide",
      value: ours.wall,
      unit: "decisions/s",
      ratio: +(ours.wall / theirs.wall).toFixed(1),
      cpuValue: ours.cpu,
      cpuRatio: +(ours.cpu / theirs.cpu).toFixed(1),
      ...shared,
    },
    {
      bench: "policy.cedar",
      value: theirs.wall,
      unit: "decisions/s",
      cpuValue: theirs.cpu,
      cedar: cedar.getCedarVersion(),
      ...shared,
    },
  ]);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) process.stdout.write(`${JSON.stringify(r)}\n`);
}
