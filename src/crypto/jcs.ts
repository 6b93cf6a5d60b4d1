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
 *
 * Speed: an object below the top is serialised by building a copy whose members are inserted in
 * sorted order and handing it to JSON.stringify (`sortedText`), which emits members in insertion
 * order and strings and numbers exactly as above: 1.5 times faster than writing piece by piece
 * for STIX objects. The copy is made only when that is exactly the canonical form: any name that
 * JavaScript would not keep in insertion order (an array index, which starts with a digit),
 * `__proto__`, and anything refused or unusual (a lone surrogate, a non-finite number, a cycle or
 * deep nesting) falls back to the writer, which also gives the errors.
 */

export function canonicalize(value: unknown): string {
  const chunks: string[] = [];
  const sink = new Sink((s) => chunks.push(s));
  write(value, new Set(), sink, false);
  sink.end();
  return chunks.join("");
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalize(value));
}

/**
 * Feed the canonical form of `value` to `emit` in pieces of about 64 KiB, in order, without ever
 * holding the whole text: `canonicalDigest` hashes a large bundle this way. Errors are thrown
 * before or while emitting, so a caller must discard what it received when one is thrown.
 */
export function canonicalStream(value: unknown, emit: (piece: string) => void): void {
  const sink = new Sink(emit);
  // The top object is written member by member, so a bundle is hashed object by object.
  write(value, new Set(), sink, true);
  sink.end();
}

/**
 * Output is appended to a short string (V8 joins such ropes cheaply) and handed on every 64 KiB:
 * one string for a whole large bundle made the garbage collector do most of the work.
 */
class Sink {
  s = "";
  constructor(private readonly emit: (piece: string) => void) {}
  add(piece: string): void {
    this.s += piece;
    if (this.s.length > 65_536) this.end();
  }
  end(): void {
    if (this.s !== "") this.emit(this.s);
    this.s = "";
  }
}

/** `String.prototype.isWellFormed` (ES2024, Node 20): false when a string holds a lone surrogate. */
type WellFormed = string & { isWellFormed(): boolean };

function quote(s: string): string {
  if (!(s as WellFormed).isWellFormed())
    throw new RangeError("jcs: a string holds a lone surrogate");
  return JSON.stringify(s);
}

/** Nesting below which `sortedCopy` gives up (and the writer, which finds cycles, takes over). */
const FAST_DEPTH = 64;
/** What `sortedCopy` returns for a value it leaves to the writer. */
const SLOW = Symbol("slow");

/** The canonical text of `value` by JSON.stringify of a sorted copy, or undefined (use `write`). */
function sortedText(value: object): string | undefined {
  const copy = sortedCopy(value, 0);
  return copy === SLOW ? undefined : JSON.stringify(copy);
}

/**
 * A copy of `value` whose objects hold their members in canonical order, or SLOW when
 * JSON.stringify of such a copy would not be the canonical form (see the file comment).
 */
function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
      return (value as WellFormed).isWellFormed() ? value : SLOW;
    case "number":
      return Number.isFinite(value) ? value : SLOW;
    case "boolean":
      return value;
    case "object": {
      if (value === null) return null;
      if (depth > FAST_DEPTH) return SLOW;
      if (Array.isArray(value)) {
        const copy: unknown[] = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          const c = item === undefined ? SLOW : sortedCopy(item, depth + 1);
          if (c === SLOW) return SLOW;
          copy[i] = c;
        }
        return copy;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return SLOW;
      const obj = value as Record<string, unknown>;
      const copy: Record<string, unknown> = {};
      for (const k of Object.keys(obj).sort()) {
        const first = k.charCodeAt(0);
        if ((first >= 48 && first <= 57) || k === "__proto__" || !(k as WellFormed).isWellFormed())
          return SLOW;
        const v = obj[k];
        if (v === undefined) continue;
        const c = sortedCopy(v, depth + 1);
        if (c === SLOW) return SLOW;
        copy[k] = c;
      }
      return copy;
    }
    default:
      return SLOW;
  }
}

/** Write `value`'s canonical form; `top`: an object is written member by member (streaming). */
function write(value: unknown, ancestors: Set<object>, out: Sink, top: boolean): void {
  if (value === null) {
    out.add("null");
    return;
  }
  switch (typeof value) {
    case "boolean":
      out.add(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value))
        throw new RangeError("jcs: non-finite numbers have no canonical form");
      out.add(JSON.stringify(value));
      return;
    case "string":
      out.add(quote(value));
      return;
    case "object": {
      if (ancestors.has(value)) throw new TypeError("jcs: a cyclic value is not JSON");
      ancestors.add(value);
      if (Array.isArray(value)) {
        out.add("[");
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.add(",");
          const item: unknown = value[i];
          if (item === undefined) throw new TypeError("jcs: an array holds undefined");
          write(item, ancestors, out, false);
        }
        out.add("]");
      } else {
        const proto: unknown = Object.getPrototypeOf(value);
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError("jcs: only plain objects and arrays are JSON");
        }
        const text = top ? undefined : sortedText(value);
        if (text !== undefined) {
          ancestors.delete(value);
          out.add(text);
          return;
        }
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj).sort();
        let first = true;
        out.add("{");
        for (const k of keys) {
          const v = obj[k];
          if (v === undefined) continue;
          out.add(first ? `${quote(k)}:` : `,${quote(k)}:`);
          first = false;
          write(v, ancestors, out, false);
        }
        out.add("}");
      }
      ancestors.delete(value);
      return;
    }
    default:
      throw new TypeError(`jcs: a value of type ${typeof value} is not JSON`);
  }
}
