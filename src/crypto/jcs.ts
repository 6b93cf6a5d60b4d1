/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - Strings and numbers serialise as ECMAScript's JSON.stringify does (RFC 8785 §3.2.2.2 and
 *   §3.2.2.3 adopt exactly that: shortest round-trip numbers, minimal string escaping).
 * - Object members are sorted by the UTF-16 code units of their names (§3.2.3), which is what
 *   the default `Array.prototype.sort` comparison does.
 * - No whitespace. Non-finite numbers and non-JSON values (undefined, functions, bigint) are
 *   refused, since they have no canonical form.
 */

export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out);
  return out.join("");
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

function write(value: unknown, out: string[]): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new RangeError("jcs: non-finite numbers have no canonical form");
      out.push(JSON.stringify(value));
      return;
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "object": {
      if (Array.isArray(value)) {
        out.push("[");
        value.forEach((v: unknown, i) => {
          if (i > 0) out.push(",");
          write(v, out);
        });
        out.push("]");
        return;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      out.push("{");
      keys.forEach((k, i) => {
        if (i > 0) out.push(",");
        out.push(JSON.stringify(k), ":");
        write(obj[k], out);
      });
      out.push("}");
      return;
    }
    default:
      throw new TypeError(`jcs: a value of type ${typeof value} is not JSON`);
  }
}
