/**
 * The receiving node (XB) of `npm run bench -- share`, in a process of its own so that the two
 * nodes do not share one event loop and one core, as two real nodes would not. Forked by
 * bench/share.ts with the node directory as its argument; driven over the IPC channel:
 *
 *   → {id, op: "start"}                          ← {id, url, fingerprint}
 *   → {id, op: "peer", url, fingerprint}         ← {id}            (add XA as partner)
 *   → {id, op: "sign", elsewhere, paperKeys}     ← {id}            (sign, exchange with XA)
 *   → {id, op: "cpu"}                            ← {id, user, system}  (process.cpuUsage, µs)
 *   → {id, op: "profile", file}                  ← {id}            (V8 CPU profile until profileEnd)
 *   → {id, op: "profileEnd"}                     ← {id}            (written to file)
 *   → {id, op: "stop"}                           ← {id}            (then the process exits)
 */
import type { RunningNode } from "../src/cli/compose.js";
import { importNodeKeys, type NodeKeys } from "../src/crypto/keys.js";
import { signAgreements, start } from "../test/support/nodes.js";
import { profiled } from "./share.js";

interface Request {
  readonly id: number;
  readonly op: "start" | "peer" | "sign" | "cpu" | "profile" | "profileEnd" | "stop";
  readonly file?: string;
  readonly url?: string;
  readonly fingerprint?: string;
  readonly elsewhere?: readonly string[];
  /** Party id -> exported node keys (bench keys for parties that sign on paper). */
  readonly paperKeys?: Record<string, string>;
}

const dir = process.argv[2];
const id = process.argv[3] ?? "XB";
if (dir === undefined) throw new Error("usage: share-peer.ts NODE_DIR [NODE_ID]");
let node: RunningNode | undefined;
let profiling: { end: () => void; done: Promise<unknown> } | undefined;

const reply = (msg: Record<string, unknown>): void => {
  process.send?.(msg);
};

async function handle(req: Request): Promise<Record<string, unknown>> {
  switch (req.op) {
    case "start":
      node = await start({ id, dir: dir ?? "" });
      return { url: node.url, fingerprint: node.node.fingerprint() };
    case "peer":
      await running().node.addPeer(req.url ?? "", req.fingerprint);
      return {};
    case "sign": {
      const paperKeys = new Map<string, NodeKeys>(
        Object.entries(req.paperKeys ?? {}).map(([party, text]) => [party, importNodeKeys(text)]),
      );
      await signAgreements([running()], { elsewhere: req.elsewhere ?? [], paperKeys });
      return {};
    }
    case "cpu":
      return { ...process.cpuUsage() };
    case "profile": {
      let end = (): void => undefined;
      const until = new Promise<void>((resolve) => (end = resolve));
      profiling = { end, done: profiled(req.file, () => until) };
      return {};
    }
    case "profileEnd":
      profiling?.end();
      await profiling?.done;
      profiling = undefined;
      return {};
    case "stop":
      await node?.stop();
      node = undefined;
      return {};
  }
}

function running(): RunningNode {
  if (node === undefined) throw new Error("the peer node is not started");
  return node;
}

process.on("message", (req: Request) => {
  handle(req).then(
    (out) => {
      reply({ id: req.id, ...out });
      if (req.op === "stop") process.disconnect();
    },
    (e: unknown) => {
      reply({ id: req.id, error: e instanceof Error ? e.message : String(e) });
    },
  );
});
