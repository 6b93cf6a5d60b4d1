/**
 * A seeded generator of realistic STIX 2.1 content for benchmarks at sizes the real corpora do not
 * reach: indicators with IPv4, domain, URL and file-hash patterns, TLP 2.0 markings, kill-chain
 * phases, and a share of malware and relationships. The same seed gives the same bundle.
 */
const TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const TLP_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";

/** mulberry32: a small, fast, seedable PRNG (public-domain algorithm). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticBundle(
  n: number,
  seed = 1,
): { type: "bundle"; id: string; objects: Record<string, unknown>[] } {
  const rnd = prng(seed);
  const hex = (len: number) =>
    Array.from({ length: len }, () => Math.floor(rnd() * 16).toString(16)).join("");
  const uuid = () =>
    `${hex(8)}-${hex(4)}-4${hex(3)}-${"89ab"[Math.floor(rnd() * 4)] ?? "8"}${hex(3)}-${hex(12)}`;
  const time = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 37_000).toISOString();
  const objects: Record<string, unknown>[] = [];
  const malware: string[] = [];
  for (let i = 0; i < n; i++) {
    const created = time(i);
    const marking = rnd() < 0.5 ? TLP_GREEN : TLP_AMBER;
    if (i % 20 === 0) {
      const id = `malware--${uuid()}`;
      malware.push(id);
      objects.push({
        type: "malware",
        spec_version: "2.1",
        id,
        created,
        modified: created,
        name: `family-${i}`,
        malware_types: ["ransomware"],
        is_family: true,
        object_marking_refs: [marking],
      });
      continue;
    }
    if (i % 20 === 1 && malware.length > 0) {
      const prev = objects[objects.length - 1];
      objects.push({
        type: "relationship",
        spec_version: "2.1",
        id: `relationship--${uuid()}`,
        created,
        modified: created,
        relationship_type: "indicates",
        source_ref: prev?.id,
        target_ref: malware[malware.length - 1],
        object_marking_refs: [marking],
      });
      continue;
    }
    const kind = Math.floor(rnd() * 4);
    const pattern =
      kind === 0
        ? `[ipv4-addr:value = '198.51.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}']`
        : kind === 1
          ? `[domain-name:value = 'host-${hex(8)}.example']`
          : kind === 2
            ? `[url:value = 'https://cdn-${hex(6)}.example/${hex(10)}']`
            : `[file:hashes.'SHA-256' = '${hex(64)}']`;
    objects.push({
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--${uuid()}`,
      created,
      modified: created,
      name: `synthetic indicator ${i}`,
      description: "Observed in a synthetic intrusion used for benchmarking.",
      indicator_types: ["malicious-activity"],
      pattern,
      pattern_type: "stix",
      valid_from: created,
      kill_chain_phases: [{ kill_chain_name: "mitre-attack", phase_name: "command-and-control" }],
      confidence: Math.floor(rnd() * 100),
      object_marking_refs: [marking],
    });
  }
  return { type: "bundle", id: `bundle--${uuid()}`, objects };
}
