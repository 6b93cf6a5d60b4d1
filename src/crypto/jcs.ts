/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * - Strings and numbers serialise as ECMAScript's JSON.stringify does (RFC 8785 §3.2.2.2 and
 *   §3.2.2.3 adopt exactly that: shortest round-trip numbers, minimal string escaping).
 * - Object members are sorted by the UTF-16 code units of their names (§3.2.3), which is what
 *   the default `Array.prototype.sort` comparison does.
 * - No whitespace.
 *
 * Refused, because they have no canonical form (RFC 8785 §3.1 requires I-JSON, RFC 7493):
 * non-finite numbers and strings holding a lone surrogate (RangeError); values that are not JSON
 * — undefined inside an array, functions, symbols, bigints, and objects that are neither plain
 * objects nor arrays, such as Date or Map, which JSON.stringify would silently turn into something
 * else (TypeError); cycles (TypeError). An object member whose value is undefined is omitted, as
 * JSON.stringify omits it, so optional properties may be left unset.
 */

export function canonicalize(value: unknown): string {
  const out: string[] = [];
  write(value, out, new Set());
  return out.join("");
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

/** A high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function writeString(s: string, out: string[]): void {
  if (LONE_SURROGATE.test(s)) throw new RangeError("jcs: a string holds a lone surrogate");
  out.push(JSON.stringify(s));
}

function write(value: unknown, out: string[], ancestors: Set<object>): void {
  if (value === null) {
    out.push("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value))
        throw new RangeError("jcs: non-finite numbers have no canonical form");
      out.push(JSON.stringify(value));
      return;
    case "string":
      writeString(value, out);
      return;
    case "object": {
      if (ancestors.has(value)) throw new TypeError("jcs: a cyclic value is not JSON");
      ancestors.add(value);
      if (Array.isArray(value)) {
        out.push("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.push(",");
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError("jcs: an array holds undefined");
          write(item, out, ancestors);
        }
        out.push("]");
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError("jcs: only plain objects and arrays are JSON");
        }
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj)
          .filter((k) => obj[k] !== undefined)
          .sort();
        out.push("{");
        keys.forEach((k, i) => {
          if (i > 0) out.push(",");
          writeString(k, out);
          out.push(":");
          write(obj[k], out, ancestors);
        });
        out.push("}");
      }
      ancestors.delete(value);
      return;
    }
    default:
      throw new TypeError(`jcs: a value of type ${typeof value} is not JSON`);
  }
}
