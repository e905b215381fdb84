// A small JSON reader for the localize request of ABI v1. It reads just
// what this localizer needs, the number of steps and the step_stats; every
// other field is skipped but still checked for well-formedness, so a
// malformed request is refused rather than half-read.
import { Buf } from "./buf";

// One entry of step_stats (sdk/ABI.md): all in nats, at temperature 1.
export class StepStat {
  tokens: f64 = 0;
  meanLogprob: f64 = 0;
  minLogprob: f64 = 0;
  meanEntropy: f64 = 0;
  hasEntropy: bool = false;
}

export class Request {
  nsteps: i32 = 0; // entries of "steps"
  hasStats: bool = false; // "step_stats" was present
  stats: Array<StepStat> = [];
}

// Reader is a cursor over the request bytes in linear memory.
class Reader {
  err: string | null = null;
  constructor(public p: usize, public n: i32, public i: i32 = 0) {}

  at(k: i32): u8 {
    return load<u8>(this.p + <usize>k);
  }

  more(): bool {
    return this.i < this.n;
  }

  peek(): u8 {
    return this.i < this.n ? this.at(this.i) : 0;
  }

  fail(msg: string): bool {
    if (this.err == null) this.err = msg;
    return false;
  }

  ws(): void {
    while (this.i < this.n) {
      const c = this.at(this.i);
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) return;
      this.i++;
    }
  }

  hex4(): i32 {
    if (this.i + 4 > this.n) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = <i32>this.at(this.i + k);
      let h = -1;
      if (c >= 0x30 && c <= 0x39) h = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) h = c - 0x61 + 10;
      else if (c >= 0x41 && c <= 0x46) h = c - 0x41 + 10;
      if (h < 0) return -1;
      v = (v << 4) | h;
    }
    this.i += 4;
    return v;
  }

  // str reads a string literal; out may be null to only validate it. Lone
  // surrogates decode to U+FFFD, as Go's encoding/json does.
  str(out: Buf | null): bool {
    if (this.peek() != 0x22) return this.fail("expected a string");
    this.i++;
    while (this.i < this.n) {
      // Copy the run of plain bytes up to the next quote, backslash or
      // control character in one go.
      const start = this.i;
      while (this.i < this.n) {
        const b = this.at(this.i);
        if (b == 0x22 || b == 0x5c || b < 0x20) break;
        this.i++;
      }
      if (out != null && this.i > start) out.putRaw(this.p + <usize>start, this.i - start);
      if (this.i >= this.n) break;
      const c = this.at(this.i++);
      if (c == 0x22) return true;
      if (c < 0x20) return this.fail("control character in string");
      if (this.i >= this.n) break;
      const e = this.at(this.i++);
      let cp: i32 = 0;
      if (e == 0x22) cp = 0x22;
      else if (e == 0x5c) cp = 0x5c;
      else if (e == 0x2f) cp = 0x2f;
      else if (e == 0x62) cp = 0x08;
      else if (e == 0x66) cp = 0x0c;
      else if (e == 0x6e) cp = 0x0a;
      else if (e == 0x72) cp = 0x0d;
      else if (e == 0x74) cp = 0x09;
      else if (e == 0x75) {
        cp = this.hex4();
        if (cp < 0) return this.fail("bad \\u escape");
        if (cp >= 0xd800 && cp < 0xdc00) {
          const save = this.i;
          if (this.i + 2 <= this.n && this.at(this.i) == 0x5c && this.at(this.i + 1) == 0x75) {
            this.i += 2;
            const lo = this.hex4();
            if (lo < 0) return this.fail("bad \\u escape");
            if (lo >= 0xdc00 && lo < 0xe000) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            } else {
              cp = 0xfffd;
              this.i = save;
            }
          } else {
            cp = 0xfffd;
          }
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          cp = 0xfffd;
        }
      } else return this.fail("bad escape in string");
      if (out != null) out.putUtf8(<u32>cp);
    }
    return this.fail("unterminated string");
  }

  digits(): i32 {
    const s = this.i;
    while (this.i < this.n) {
      const c = this.at(this.i);
      if (c < 0x30 || c > 0x39) break;
      this.i++;
    }
    return this.i - s;
  }

  num(): bool {
    if (this.peek() == 0x2d) this.i++;
    const c = this.peek();
    if (c == 0x30) this.i++;
    else if (c >= 0x31 && c <= 0x39) this.digits();
    else return this.fail("bad number");
    if (this.peek() == 0x2e) {
      this.i++;
      if (this.digits() == 0) return this.fail("bad number");
    }
    if (this.peek() == 0x65 || this.peek() == 0x45) {
      this.i++;
      if (this.peek() == 0x2b || this.peek() == 0x2d) this.i++;
      if (this.digits() == 0) return this.fail("bad number");
    }
    return true;
  }

  lit(w: string): bool {
    if (this.i + w.length > this.n) return this.fail("bad literal");
    for (let k = 0; k < w.length; k++) {
      if (<i32>this.at(this.i + k) != w.charCodeAt(k)) return this.fail("bad literal");
    }
    this.i += w.length;
    return true;
  }

  // skip validates and skips any value; depth bounds the recursion.
  skip(depth: i32): bool {
    if (depth > 64) return this.fail("nesting too deep");
    this.ws();
    if (!this.more()) return this.fail("unexpected end of input");
    const c = this.peek();
    if (c == 0x22) return this.str(null);
    if (c == 0x7b || c == 0x5b) {
      const close: u8 = c == 0x7b ? 0x7d : 0x5d;
      this.i++;
      this.ws();
      if (this.peek() == close) {
        this.i++;
        return true;
      }
      for (;;) {
        if (c == 0x7b) {
          this.ws();
          if (!this.str(null)) return false;
          this.ws();
          if (this.peek() != 0x3a) return this.fail("expected ':'");
          this.i++;
        }
        if (!this.skip(depth + 1)) return false;
        this.ws();
        const d = this.peek();
        if (d == 0x2c) {
          this.i++;
          continue;
        }
        if (d == close) {
          this.i++;
          return true;
        }
        return this.fail("expected ',' or a closing bracket");
      }
    }
    if (c == 0x74) return this.lit("true");
    if (c == 0x66) return this.lit("false");
    if (c == 0x6e) return this.lit("null");
    return this.num();
  }

  // keyIs compares the raw key bytes [s, s+len) with an ASCII name; the
  // known keys have no escapes.
  keyIs(s: i32, len: i32, name: string): bool {
    if (len != name.length) return false;
    for (let k = 0; k < len; k++) {
      if (<i32>this.at(s + k) != name.charCodeAt(k)) return false;
    }
    return true;
  }
}


// float reads a number as f64.
function float(r: Reader, out: StepStat, field: i32): bool {
  const start = r.i;
  if (!r.num()) return false;
  const v = parseFloat(String.UTF8.decodeUnsafe(r.p + <usize>start, <usize>(r.i - start)));
  if (field == 0) out.tokens = v;
  else if (field == 1) out.meanLogprob = v;
  else if (field == 2) out.minLogprob = v;
  else {
    out.meanEntropy = v;
    out.hasEntropy = true;
  }
  return true;
}

// key reads a key and its colon; it returns the key's start, or -1.
function key(r: Reader): i32 {
  r.ws();
  if (r.peek() != 0x22) {
    r.fail("expected a key");
    return -1;
  }
  const ks = r.i + 1;
  if (!r.str(null)) return -1;
  r.ws();
  if (r.peek() != 0x3a) {
    r.fail("expected ':'");
    return -1;
  }
  r.i++;
  r.ws();
  return ks;
}

// next consumes the separator after a member or element: 1 for a comma, 0
// for the closing byte, -1 on error.
function next(r: Reader, close: u8): i32 {
  r.ws();
  const d = r.peek();
  if (d == 0x2c) {
    r.i++;
    return 1;
  }
  if (d == close) {
    r.i++;
    return 0;
  }
  r.fail("expected ',' or a closing bracket");
  return -1;
}

// open consumes an opening byte; it returns false for an empty container
// (consumed too) or on error (r.err set).
function open(r: Reader, c: u8, close: u8, what: string): bool {
  r.ws();
  if (r.peek() != c) return r.fail(what);
  r.i++;
  r.ws();
  if (r.peek() == close) {
    r.i++;
    return false;
  }
  return true;
}

function stat(r: Reader, st: StepStat): bool {
  if (!open(r, 0x7b, 0x7d, "expected an object")) return r.err == null;
  let more = 1;
  while (more > 0) {
    const ks = key(r);
    if (ks < 0) return false;
    const klen = keyLen(r, ks);
    let ok: bool;
    if (r.keyIs(ks, klen, "tokens")) ok = float(r, st, 0);
    else if (r.keyIs(ks, klen, "mean_logprob")) ok = float(r, st, 1);
    else if (r.keyIs(ks, klen, "min_logprob")) ok = float(r, st, 2);
    else if (r.keyIs(ks, klen, "mean_entropy") && r.peek() != 0x6e) ok = float(r, st, 3);
    else ok = r.skip(1);
    if (!ok) return false;
    more = next(r, 0x7d);
  }
  return more == 0;
}

// keyLen is the length of the raw key starting at ks (it has no escapes).
function keyLen(r: Reader, ks: i32): i32 {
  let k = ks;
  while (k < r.n && r.at(k) != 0x22) k++;
  return k - ks;
}

function stats(r: Reader, req: Request): bool {
  req.hasStats = true;
  if (!open(r, 0x5b, 0x5d, "expected an array")) return r.err == null;
  let more = 1;
  while (more > 0) {
    const st = new StepStat();
    if (!stat(r, st)) return false;
    req.stats.push(st);
    more = next(r, 0x5d);
  }
  return more == 0;
}

function steps(r: Reader, req: Request): bool {
  if (!open(r, 0x5b, 0x5d, "expected an array")) return r.err == null;
  let more = 1;
  while (more > 0) {
    if (!r.skip(1)) return false;
    req.nsteps++;
    more = next(r, 0x5d);
  }
  return more == 0;
}

// parseRequest decodes the LocalizeRequest at [p, p+n). It returns null on
// success or a message describing the first error.
export function parseRequest(p: usize, n: i32, req: Request): string | null {
  const r = new Reader(p, n);
  req.nsteps = 0;
  req.hasStats = false;
  req.stats = [];
  if (open(r, 0x7b, 0x7d, "expected an object")) {
    for (;;) {
      const ks = key(r);
      if (ks < 0) return r.err;
      const klen = keyLen(r, ks);
      let ok: bool;
      if (r.keyIs(ks, klen, "steps")) ok = steps(r, req);
      else if (r.keyIs(ks, klen, "step_stats") && r.peek() != 0x6e) ok = stats(r, req);
      else ok = r.skip(1);
      if (!ok) return r.err;
      const d = next(r, 0x7d);
      if (d < 0) return r.err;
      if (d == 0) break;
    }
  } else if (r.err != null) {
    return r.err;
  }
  r.ws();
  if (r.more()) return "trailing data after the request";
  return null;
}
