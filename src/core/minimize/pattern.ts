/**
 * The STIX 2.1 patterning language (STIX 2.1 §9; the ANTLR grammar STIXPattern.g4 of
 * oasis-open/cti-pattern-validator): a parser to an AST, a printer, and a rewriter of comparison
 * values, so minimization can pseudonymize or generalize values inside indicator patterns.
 *
 * Flow: lex (comments are dropped: they are free text and could hide anything) -> recursive
 * descent in the grammar's precedence order (FOLLOWEDBY < OR < AND < qualifiers for observation
 * expressions; OR < AND for comparison expressions) -> AST that keeps the source's parentheses ->
 * `printPattern` prints a canonical spacing that parses back to the same AST.
 *
 * Risks: a pattern is attacker-controlled text; the parser is linear, bounds nesting depth and
 * length, and returns undefined on anything outside the grammar: the caller refuses the share.
 */

export type Literal =
  | { readonly t: "string"; readonly value: string }
  | { readonly t: "timestamp"; readonly value: string }
  | { readonly t: "hex"; readonly value: string }
  | { readonly t: "binary"; readonly value: string }
  | { readonly t: "int"; readonly text: string }
  | { readonly t: "float"; readonly text: string }
  | { readonly t: "bool"; readonly value: boolean };

export type PathStep =
  | { readonly t: "prop"; readonly name: string; readonly quoted: boolean }
  | { readonly t: "index"; readonly text: string };

export interface ObjectPath {
  readonly objectType: string;
  readonly steps: readonly PathStep[];
}

export type CompareOp =
  "=" | "!=" | ">" | "<" | ">=" | "<=" | "LIKE" | "MATCHES" | "ISSUBSET" | "ISSUPERSET";

export type Comparison =
  | {
      readonly t: "cmp";
      readonly path: ObjectPath;
      readonly not: boolean;
      readonly op: CompareOp;
      readonly value: Literal;
    }
  | {
      readonly t: "in";
      readonly path: ObjectPath;
      readonly not: boolean;
      readonly values: readonly Literal[];
    }
  | { readonly t: "exists"; readonly path: ObjectPath }
  | { readonly t: "paren"; readonly expr: ComparisonExpr };

export type ComparisonExpr =
  { readonly t: "or" | "and"; readonly items: readonly ComparisonExpr[] } | Comparison;

export type Qualifier =
  | { readonly t: "startstop"; readonly start: string; readonly stop: string }
  | { readonly t: "within"; readonly seconds: string }
  | { readonly t: "repeats"; readonly times: string };

export type ObservationExpr =
  | { readonly t: "followedby" | "obs-or" | "obs-and"; readonly items: readonly ObservationExpr[] }
  | { readonly t: "observation"; readonly expr: ComparisonExpr }
  | { readonly t: "group"; readonly expr: ObservationExpr }
  | { readonly t: "qualified"; readonly expr: ObservationExpr; readonly qualifier: Qualifier };

// ---------------------------------------------------------------- lexer

type Tok =
  | { readonly k: "kw" | "id" | "punct" | "int" | "float"; readonly s: string }
  | { readonly k: "str" | "ts" | "hex" | "bin"; readonly s: string };

const KEYWORDS = new Set([
  "AND",
  "OR",
  "NOT",
  "FOLLOWEDBY",
  "LIKE",
  "MATCHES",
  "ISSUPERSET",
  "ISSUBSET",
  "EXISTS",
  "LAST",
  "IN",
  "START",
  "STOP",
  "SECONDS",
  "true",
  "false",
  "WITHIN",
  "REPEATS",
  "TIMES",
]);
const MAX_PATTERN = 64 * 1024;
const IDENT = /[A-Za-z_][A-Za-z0-9_-]*/y;
const NUMBER = /[+-]?(?:\d*\.\d+|0|[1-9]\d*)/y;
const MAX_DEPTH = 64;
const TS =
  /^\d{4}-(?:0[1-9]|1[012])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?Z$/;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function readQuoted(src: string, i: number): { value: string; next: number } | undefined {
  // i is at the opening quote; escapes are \' and \\ only (grammar: StringLiteral).
  let out = "";
  let j = i + 1;
  while (j < src.length) {
    const c = src[j];
    if (c === "'") return { value: out, next: j + 1 };
    if (c === "\\") {
      const d = src[j + 1];
      if (d !== "'" && d !== "\\") return undefined;
      out += d;
      j += 2;
      continue;
    }
    out += src.charAt(j);
    j++;
  }
  return undefined;
}

function lex(src: string): Tok[] | undefined {
  const toks: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? "";
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
    } else if (src.startsWith("/*", i)) {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) return undefined;
      i = end + 2;
    } else if (src.startsWith("//", i)) {
      const end = src.indexOf("\n", i);
      i = end < 0 ? src.length : end + 1;
    } else if (c === "'") {
      const q = readQuoted(src, i);
      if (q === undefined) return undefined;
      toks.push({ k: "str", s: q.value });
      i = q.next;
    } else if ((c === "t" || c === "h" || c === "b") && src[i + 1] === "'") {
      const q = readQuoted(src, i + 1);
      if (q === undefined) return undefined;
      if (c === "t" && !TS.test(q.value)) return undefined;
      if (c === "h" && !/^(?:[0-9a-fA-F]{2})*$/.test(q.value)) return undefined;
      if (c === "b" && !B64.test(q.value)) return undefined;
      toks.push({ k: c === "t" ? "ts" : c === "h" ? "hex" : "bin", s: q.value });
      i = q.next;
    } else if ((c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c === "_") {
      IDENT.lastIndex = i;
      const m = IDENT.exec(src);
      const s = m?.[0] ?? c;
      toks.push({ k: KEYWORDS.has(s) ? "kw" : "id", s });
      i += s.length;
    } else if (c === "." && !/[0-9]/.test(src[i + 1] ?? "")) {
      toks.push({ k: "punct", s: "." });
      i++;
    } else if (/[0-9+.-]/.test(c)) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(src);
      if (m === null) return undefined;
      toks.push({ k: m[0].includes(".") ? "float" : "int", s: m[0] });
      i += m[0].length;
    } else if (src.startsWith("!=", i) || src.startsWith(">=", i) || src.startsWith("<=", i)) {
      toks.push({ k: "punct", s: src.slice(i, i + 2) });
      i += 2;
    } else if ("[]():,=<>*".includes(c)) {
      toks.push({ k: "punct", s: c });
      i++;
    } else {
      return undefined;
    }
  }
  return toks;
}

// ---------------------------------------------------------------- parser

class Fail extends Error {}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: readonly Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private is(k: Tok["k"], s?: string): boolean {
    const t = this.peek();
    return t?.k === k && (s === undefined || t.s === s);
  }
  private take(k: Tok["k"], s?: string): Tok {
    const t = this.peek();
    if (t?.k !== k || (s !== undefined && t.s !== s)) throw new Fail();
    this.i++;
    return t;
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Fail();
  }

  done(): boolean {
    return this.i === this.toks.length;
  }

  observations(): ObservationExpr {
    this.enter();
    const first = this.obsOr();
    const items = [first];
    while (this.is("kw", "FOLLOWEDBY")) {
      this.i++;
      items.push(this.obsOr());
    }
    this.depth--;
    return items.length === 1 ? first : { t: "followedby", items };
  }
  private obsOr(): ObservationExpr {
    const first = this.obsAnd();
    const items = [first];
    while (this.is("kw", "OR")) {
      this.i++;
      items.push(this.obsAnd());
    }
    return items.length === 1 ? first : { t: "obs-or", items };
  }
  private obsAnd(): ObservationExpr {
    const first = this.obsQualified();
    const items = [first];
    while (this.is("kw", "AND")) {
      this.i++;
      items.push(this.obsQualified());
    }
    return items.length === 1 ? first : { t: "obs-and", items };
  }
  private obsQualified(): ObservationExpr {
    let expr: ObservationExpr;
    if (this.is("punct", "[")) {
      this.i++;
      expr = { t: "observation", expr: this.cmpOr() };
      this.take("punct", "]");
    } else {
      this.take("punct", "(");
      expr = { t: "group", expr: this.observations() };
      this.take("punct", ")");
    }
    for (;;) {
      if (this.is("kw", "START")) {
        this.i++;
        const start = this.take("ts").s;
        this.take("kw", "STOP");
        const stop = this.take("ts").s;
        expr = { t: "qualified", expr, qualifier: { t: "startstop", start, stop } };
      } else if (this.is("kw", "WITHIN")) {
        this.i++;
        const n = this.peek();
        if ((n?.k !== "int" && n?.k !== "float") || n.s.startsWith("-")) throw new Fail();
        this.i++;
        this.take("kw", "SECONDS");
        expr = { t: "qualified", expr, qualifier: { t: "within", seconds: n.s } };
      } else if (this.is("kw", "REPEATS")) {
        this.i++;
        const n = this.take("int");
        if (n.s.startsWith("-")) throw new Fail();
        this.take("kw", "TIMES");
        expr = { t: "qualified", expr, qualifier: { t: "repeats", times: n.s } };
      } else {
        return expr;
      }
    }
  }

  private cmpOr(): ComparisonExpr {
    this.enter();
    const first = this.cmpAnd();
    const items = [first];
    while (this.is("kw", "OR")) {
      this.i++;
      items.push(this.cmpAnd());
    }
    this.depth--;
    return items.length === 1 ? first : { t: "or", items };
  }
  private cmpAnd(): ComparisonExpr {
    const first = this.propTest();
    const items = [first];
    while (this.is("kw", "AND")) {
      this.i++;
      items.push(this.propTest());
    }
    return items.length === 1 ? first : { t: "and", items };
  }
  private propTest(): Comparison {
    if (this.is("punct", "(")) {
      this.i++;
      const expr = this.cmpOr();
      this.take("punct", ")");
      return { t: "paren", expr };
    }
    if (this.is("kw", "EXISTS")) {
      this.i++;
      return { t: "exists", path: this.objectPath() };
    }
    const path = this.objectPath();
    let not = false;
    if (this.is("kw", "NOT")) {
      this.i++;
      not = true;
    }
    const t = this.peek();
    if (t === undefined) throw new Fail();
    if (t.k === "punct" && (t.s === "=" || t.s === "!=")) {
      this.i++;
      return { t: "cmp", path, not, op: t.s, value: this.literal(true) };
    }
    if (t.k === "punct" && (t.s === ">" || t.s === "<" || t.s === ">=" || t.s === "<=")) {
      this.i++;
      return { t: "cmp", path, not, op: t.s, value: this.literal(false) };
    }
    if (
      t.k === "kw" &&
      (t.s === "LIKE" || t.s === "MATCHES" || t.s === "ISSUBSET" || t.s === "ISSUPERSET")
    ) {
      this.i++;
      return { t: "cmp", path, not, op: t.s, value: { t: "string", value: this.take("str").s } };
    }
    if (t.k === "kw" && t.s === "IN") {
      this.i++;
      this.take("punct", "(");
      const values: Literal[] = [];
      if (!this.is("punct", ")")) {
        values.push(this.literal(true));
        while (this.is("punct", ",")) {
          this.i++;
          values.push(this.literal(true));
        }
      }
      this.take("punct", ")");
      return { t: "in", path, not, values };
    }
    throw new Fail();
  }
  private literal(allowBool: boolean): Literal {
    const t = this.peek();
    if (t === undefined) throw new Fail();
    this.i++;
    switch (t.k) {
      case "str":
        return { t: "string", value: t.s };
      case "ts":
        return { t: "timestamp", value: t.s };
      case "hex":
        return { t: "hex", value: t.s };
      case "bin":
        return { t: "binary", value: t.s };
      case "int":
        return { t: "int", text: t.s };
      case "float":
        return { t: "float", text: t.s };
      case "kw":
        if (allowBool && (t.s === "true" || t.s === "false"))
          return { t: "bool", value: t.s === "true" };
        throw new Fail();
      default:
        throw new Fail();
    }
  }
  private objectPath(): ObjectPath {
    const type = this.take("id").s;
    if (!/^[a-z0-9-]+$/i.test(type)) throw new Fail();
    this.take("punct", ":");
    const steps: PathStep[] = [this.propStep()];
    for (;;) {
      if (this.is("punct", "[")) {
        this.i++;
        const t = this.peek();
        if (t?.k === "int" || (t?.k === "punct" && t.s === "*")) {
          this.i++;
          steps.push({ t: "index", text: t.s });
        } else throw new Fail();
        this.take("punct", "]");
      } else if (this.peekDot()) {
        steps.push(this.propStep());
      } else {
        return { objectType: type, steps };
      }
    }
  }
  private peekDot(): boolean {
    const t = this.peek();
    if (t?.k === "punct" && t.s === ".") {
      this.i++;
      return true;
    }
    return false;
  }
  private propStep(): PathStep {
    const t = this.peek();
    if (t?.k === "str") {
      this.i++;
      return { t: "prop", name: t.s, quoted: true };
    }
    if (t?.k === "id" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(t.s)) {
      this.i++;
      return { t: "prop", name: t.s, quoted: false };
    }
    throw new Fail();
  }
}

/** The AST of a STIX pattern, or undefined when the text is not in the grammar. */
export function parsePattern(src: string): ObservationExpr | undefined {
  if (src.length > MAX_PATTERN) return undefined;
  const toks = lex(src);
  if (toks === undefined || toks.length === 0) return undefined;
  const p = new Parser(toks);
  try {
    const ast = p.observations();
    return p.done() ? ast : undefined;
  } catch (e) {
    if (e instanceof Fail) return undefined;
    throw e;
  }
}

// ---------------------------------------------------------------- printer

function quote(s: string): string {
  return `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

function printLiteral(l: Literal): string {
  switch (l.t) {
    case "string":
      return quote(l.value);
    case "timestamp":
      return `t${quote(l.value)}`;
    case "hex":
      return `h${quote(l.value)}`;
    case "binary":
      return `b${quote(l.value)}`;
    case "int":
    case "float":
      return l.text;
    case "bool":
      return l.value ? "true" : "false";
  }
}

function printPath(p: ObjectPath): string {
  let s = `${p.objectType}:`;
  p.steps.forEach((step, i) => {
    if (step.t === "index") s += `[${step.text}]`;
    else s += `${i === 0 ? "" : "."}${step.quoted ? quote(step.name) : step.name}`;
  });
  return s;
}

function printComparison(e: ComparisonExpr): string {
  switch (e.t) {
    case "or":
      return e.items.map(printComparison).join(" OR ");
    case "and":
      return e.items.map(printComparison).join(" AND ");
    case "paren":
      return `(${printComparison(e.expr)})`;
    case "exists":
      return `EXISTS ${printPath(e.path)}`;
    case "cmp":
      return `${printPath(e.path)} ${e.not ? "NOT " : ""}${e.op} ${printLiteral(e.value)}`;
    case "in":
      return `${printPath(e.path)} ${e.not ? "NOT " : ""}IN (${e.values.map(printLiteral).join(", ")})`;
  }
}

function printQualifier(q: Qualifier): string {
  switch (q.t) {
    case "startstop":
      return `START t${quote(q.start)} STOP t${quote(q.stop)}`;
    case "within":
      return `WITHIN ${q.seconds} SECONDS`;
    case "repeats":
      return `REPEATS ${q.times} TIMES`;
  }
}

export function printPattern(e: ObservationExpr): string {
  switch (e.t) {
    case "followedby":
      return e.items.map(printPattern).join(" FOLLOWEDBY ");
    case "obs-or":
      return e.items.map(printPattern).join(" OR ");
    case "obs-and":
      return e.items.map(printPattern).join(" AND ");
    case "observation":
      return `[${printComparison(e.expr)}]`;
    case "group":
      return `(${printPattern(e.expr)})`;
    case "qualified":
      return `${printPattern(e.expr)} ${printQualifier(e.qualifier)}`;
  }
}

// ---------------------------------------------------------------- rewriting

/** What a rewriter returns for one string value: a new value and, optionally, a new operator. */
export interface StringRewrite {
  readonly value: string;
  readonly op?: CompareOp;
  readonly not?: boolean;
}

/**
 * Calls `fn` on every string literal of every comparison (`IN` sets included) with its object path
 * and operator; the result replaces the literal. Returns a new AST; the input is not modified.
 */
export function rewriteStrings(
  e: ObservationExpr,
  fn: (path: ObjectPath, op: CompareOp | "IN", not: boolean, value: string) => StringRewrite,
): ObservationExpr {
  const cmp = (c: ComparisonExpr): ComparisonExpr => {
    switch (c.t) {
      case "or":
      case "and":
        return { t: c.t, items: c.items.map(cmp) };
      case "paren":
        return { t: "paren", expr: cmp(c.expr) };
      case "exists":
        return c;
      case "cmp": {
        if (c.value.t !== "string") return c;
        const r = fn(c.path, c.op, c.not, c.value.value);
        return {
          ...c,
          op: r.op ?? c.op,
          not: r.not ?? c.not,
          value: { t: "string", value: r.value },
        };
      }
      case "in":
        return {
          ...c,
          values: c.values.map((v) =>
            v.t === "string" ? { t: "string", value: fn(c.path, "IN", c.not, v.value).value } : v,
          ),
        };
    }
  };
  const obs = (o: ObservationExpr): ObservationExpr => {
    switch (o.t) {
      case "followedby":
      case "obs-or":
      case "obs-and":
        return { t: o.t, items: o.items.map(obs) };
      case "observation":
        return { t: "observation", expr: cmp(o.expr) };
      case "group":
        return { t: "group", expr: obs(o.expr) };
      case "qualified":
        return { ...o, expr: obs(o.expr) };
    }
  };
  return obs(e);
}
