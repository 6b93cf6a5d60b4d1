/**
 * `accord outbox …`: the operator's view of the durable outbox on a running node, through its API.
 *
 *   accord outbox [list] [pending|delivered|cancelled] [--limit N]
 *                             state, attempts, last error and next attempt of each item
 *   accord outbox cancel ID   cancel a pending item (it is never sent; the cancel is logged)
 */
import { AccordError } from "../errors.js";
import type { OutboxItem } from "../app/ports.js";
import { ApiClient } from "./api-client.js";
import type { NodeConfig } from "./config.js";

type Item = Omit<OutboxItem, "envelope">;

export async function outboxCommand(
  args: readonly string[],
  config: NodeConfig,
  limit: number,
  print: (human: string, doc: unknown) => void,
): Promise<void> {
  const api = ApiClient.forConfig(config);
  const [sub = "list", arg] = args;
  if (sub === "cancel") {
    if (arg === undefined)
      throw new AccordError("ERR_BAD_REQUEST", "expected `accord outbox cancel ID`");
    const item = await api.call<Item>("POST", `/outbox/${encodeURIComponent(arg)}/cancel`);
    print(
      `cancelled ${item.id} to ${item.recipient}${item.agreementId === null ? "" : ` under ${item.agreementId}`}; it will not be sent`,
      item,
    );
    return;
  }
  if (sub !== "list")
    throw new AccordError(
      "ERR_BAD_REQUEST",
      "expected `accord outbox list [pending|delivered|cancelled]` or `accord outbox cancel ID`",
    );
  if (arg !== undefined && !["pending", "delivered", "cancelled"].includes(arg))
    throw new AccordError(
      "ERR_BAD_REQUEST",
      `the state must be pending, delivered or cancelled, not \`${arg}\``,
    );
  const q = new URLSearchParams({
    limit: String(limit),
    ...(arg === undefined ? {} : { status: arg }),
  });
  const { items } = await api.call<{ items: Item[] }>("GET", `/outbox?${q.toString()}`);
  print(items.length === 0 ? "the outbox is empty" : formatOutbox(items), { items });
}

/** One line per item: id, recipient, agreement, state, attempts, and what happens next. */
export function formatOutbox(items: readonly Item[]): string {
  const rows = items.map((i) => [
    i.id,
    i.recipient,
    i.agreementId === null ? "-" : `${i.agreementId} v${String(i.agreementVersion ?? "?")}`,
    i.status,
    String(i.attempts),
    i.status === "pending"
      ? `next ${i.nextAttemptAt}${i.lastError === null ? "" : `, last error ${i.lastError}`}`
      : i.status === "delivered"
        ? `delivered ${i.deliveredAt ?? ""}`
        : `cancelled ${i.cancelledAt ?? ""}: ${i.cancelReason ?? ""}`,
  ]);
  const head = ["ENVELOPE", "TO", "AGREEMENT", "STATE", "ATTEMPTS", "DETAIL"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c] ?? 0))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}
