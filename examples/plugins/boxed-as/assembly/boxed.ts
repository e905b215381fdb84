// A port of plugins/boxed/boxedmath: read its package documentation for
// the rules. Each function carries the name of the Go function it mirrors;
// the shared table examples/plugins/cases/boxed.jsonl checks that they
// agree. Strings are UTF-8 byte slices (Uint8Array views), as Go strings
// are, so that lengths and offsets mean the same thing.
import { Buf, ascii } from "./buf";
import { Rat } from "./bigrat";

type Bytes = Uint8Array;

function utf8(...b: u8[]): Bytes {
  const r = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) r[i] = b[i];
  return r;
}

function hasPrefix(s: Bytes, p: Bytes): bool {
  if (s.length < p.length) return false;
  for (let i = 0; i < p.length; i++) if (unchecked(s[i]) != unchecked(p[i])) return false;
  return true;
}

function hasSuffix(s: Bytes, p: Bytes): bool {
  const off = s.length - p.length;
  if (off < 0) return false;
  for (let i = 0; i < p.length; i++) if (unchecked(s[off + i]) != unchecked(p[i])) return false;
  return true;
}

function eq(a: Bytes, b: Bytes): bool {
  return a.length == b.length && hasPrefix(a, b);
}

function tail(s: Bytes, i: i32): Bytes {
  return s.subarray(i);
}

function head(s: Bytes, n: i32): Bytes {
  return s.subarray(0, n);
}

function indexByte(s: Bytes, c: u8): i32 {
  for (let i = 0; i < s.length; i++) if (unchecked(s[i]) == c) return i;
  return -1;
}

function isDigit(c: u8): bool {
  return c >= 0x30 && c <= 0x39;
}

function isAsciiSpace(c: u8): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

// The UTF-8 encodings of the white space that Go's unicode.IsSpace accepts
// beyond ASCII. Matching them bytewise is what Go's rune decoding does:
// invalid bytes decode as a non-space U+FFFD.
const USPACES: Bytes[] = [
  utf8(0xc2, 0x85), utf8(0xc2, 0xa0), utf8(0xe1, 0x9a, 0x80),
  utf8(0xe2, 0x80, 0x80), utf8(0xe2, 0x80, 0x81), utf8(0xe2, 0x80, 0x82), utf8(0xe2, 0x80, 0x83),
  utf8(0xe2, 0x80, 0x84), utf8(0xe2, 0x80, 0x85), utf8(0xe2, 0x80, 0x86), utf8(0xe2, 0x80, 0x87),
  utf8(0xe2, 0x80, 0x88), utf8(0xe2, 0x80, 0x89), utf8(0xe2, 0x80, 0x8a), utf8(0xe2, 0x80, 0xa8),
  utf8(0xe2, 0x80, 0xa9), utf8(0xe2, 0x80, 0xaf), utf8(0xe2, 0x81, 0x9f), utf8(0xe3, 0x80, 0x80),
];

// spaceAt returns the length of the white-space rune s starts with, 0 if none.
function spaceAt(s: Bytes): i32 {
  if (s.length == 0) return 0;
  const c = unchecked(s[0]);
  if (isAsciiSpace(c)) return 1;
  if (c != 0xc2 && c != 0xe1 && c != 0xe2 && c != 0xe3) return 0; // not a lead byte of USPACES
  for (let k = 0; k < USPACES.length; k++) if (hasPrefix(s, USPACES[k])) return USPACES[k].length;
  return 0;
}

function spaceBefore(s: Bytes): i32 {
  if (s.length == 0) return 0;
  const c = unchecked(s[s.length - 1]);
  if (isAsciiSpace(c)) return 1;
  if (c < 0x80) return 0; // every encoding of USPACES ends with a continuation byte
  for (let k = 0; k < USPACES.length; k++) if (hasSuffix(s, USPACES[k])) return USPACES[k].length;
  return 0;
}

// strings.TrimSpace
function trimSpace(s: Bytes): Bytes {
  let i = 0;
  let k: i32;
  while ((k = spaceAt(tail(s, i))) > 0) i += k;
  let e = s.length;
  while (e > i && (k = spaceBefore(s.subarray(i, e))) > 0) e -= k;
  return s.subarray(i, e);
}

// braced: the content of the brace group s starts with, after spaces, or
// null when there is none or it never closes.
function braced(s: Bytes): Bytes | null {
  let j = 0;
  while (j < s.length && s[j] == 0x20) j++;
  if (j >= s.length || s[j] != 0x7b) return null;
  let depth = 0;
  for (let k = j; k < s.length; k++) {
    const c = unchecked(s[k]);
    if (c == 0x5c) {
      k++; // an escaped brace \{ or \} does not count
    } else if (c == 0x7b) {
      depth++;
    } else if (c == 0x7d) {
      depth--;
      if (depth == 0) return s.subarray(j + 1, k);
    }
  }
  return null;
}

const BOXED = ascii("\\boxed");

// nextBoxed: the index of the brace of the first \boxed{ (spaces allowed
// before the brace) at or after from, or -1. boxedAfter is where to search
// for the one after it.
let boxedAfter: i32 = 0;
function nextBoxed(s: Bytes, from: i32): i32 {
  const last = s.length - BOXED.length;
  for (let i = from; i <= last; i++) {
    if (unchecked(s[i]) != 0x5c || !hasPrefix(tail(s, i), BOXED)) continue;
    let j = i + BOXED.length;
    while (j < s.length && unchecked(s[j]) == 0x20) j++;
    if (j < s.length && unchecked(s[j]) == 0x7b) {
      boxedAfter = j + 1;
      return j;
    }
    i = j - 1;
  }
  boxedAfter = s.length;
  return -1;
}

// The open \boxed{ groups of extract: content start and the depth outside
// the brace. Reused across calls.
const openContent = new Array<i32>();
const openDepth = new Array<i32>();

// Extract: the last brace-balanced \boxed{...}, in one forward pass (see
// the Go function for why it equals trying the occurrences from the last
// one backwards): a global brace depth finds where each \boxed{ closes,
// and the closed one that opens last wins.
export function extract(s: Bytes): Bytes | null {
  openContent.length = 0;
  openDepth.length = 0;
  let next = nextBoxed(s, 0);
  let best = -1;
  let bestEnd = -1;
  let depth = 0;
  for (let k = 0; k < s.length; k++) {
    const c = unchecked(s[k]);
    if (c == 0x5c) {
      k++; // an escaped brace \{ or \} does not count
    } else if (c == 0x7b) {
      if (k == next) {
        openContent.push(k + 1);
        openDepth.push(depth);
        next = nextBoxed(s, boxedAfter);
      }
      depth++;
    } else if (c == 0x7d && depth > 0) {
      depth--;
      const n = openDepth.length;
      if (n > 0 && unchecked(openDepth[n - 1]) == depth) {
        const start = unchecked(openContent[n - 1]);
        if (start > best) {
          best = start;
          bestEnd = k;
        }
        openContent.length = n - 1;
        openDepth.length = n - 1;
      }
    }
  }
  if (best < 0) return null;
  return s.subarray(best, bestEnd);
}

const DOLLAR2 = ascii("$$");
const ESC_DOLLAR = ascii("\\$");
const DOLLAR = ascii("$");
const OPEN_PAREN = ascii("\\(");
const CLOSE_PAREN = ascii("\\)");
const OPEN_BRACKET = ascii("\\[");
const CLOSE_BRACKET = ascii("\\]");
const WRAPPERS: Bytes[] = [ascii("\\text"), ascii("\\textbf"), ascii("\\mathrm"), ascii("\\mbox")];

// unwrap: trim and remove whole-answer wrappers until none is left.
function unwrap(s: Bytes): Bytes {
  while (true) {
    s = trimSpace(s);
    const n = s.length;
    if (n >= 4 && hasPrefix(s, DOLLAR2) && hasSuffix(s, DOLLAR2)) {
      s = s.subarray(2, n - 2);
    } else if (n >= 2 && s[0] == 0x24 && s[n - 1] == 0x24 && !hasSuffix(s, ESC_DOLLAR)) {
      s = s.subarray(1, n - 1);
    } else if (
      n >= 4 &&
      ((hasPrefix(s, OPEN_PAREN) && hasSuffix(s, CLOSE_PAREN)) ||
        (hasPrefix(s, OPEN_BRACKET) && hasSuffix(s, CLOSE_BRACKET)))
    ) {
      s = s.subarray(2, n - 2);
    } else {
      for (let k = 0; k < WRAPPERS.length; k++) {
        const w = WRAPPERS[k];
        if (hasPrefix(s, w) && w.length < n && s[w.length] == 0x7b) {
          const c = braced(tail(s, w.length));
          if (c != null && w.length + c.length + 2 == n) {
            s = c;
            break;
          }
        }
      }
    }
    if (s.length == n) break;
  }
  return s;
}

// The spacing replacer of Normalize, in Go's argument order.
const SPACING_FROM: Bytes[] = [
  ascii("\\left"), ascii("\\right"), ascii("\\displaystyle"), ascii("\\!"), ascii("\\,"),
  ascii("\\;"), ascii("\\:"), ascii("\\ "), ascii("{,}"), ascii("\\dfrac"), ascii("\\tfrac"),
  utf8(0xe2, 0x88, 0x92),
];
const SPACING_TO: Bytes[] = [
  ascii(""), ascii(""), ascii(""), ascii(""), ascii(""), ascii(""), ascii(""), ascii(" "),
  ascii(","), ascii("\\frac"), ascii("\\frac"), ascii("-"),
];

function replaceSpacing(s: Bytes, o: Buf): Bytes {
  o.reset();
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c != 0x5c && c != 0x7b && c != 0xe2) {
      o.putByte(c); // no pattern starts with this byte
      i++;
      continue;
    }
    const t = tail(s, i);
    let k = 0;
    for (; k < SPACING_FROM.length; k++) if (hasPrefix(t, SPACING_FROM[k])) break;
    if (k < SPACING_FROM.length) {
      o.putBytes(SPACING_TO[k]);
      i += SPACING_FROM[k].length;
    } else {
      o.putByte(s[i++]);
    }
  }
  return o.bytes();
}

// decimal: an unsigned decimal with optional thousands separators.
function decimal(s: Bytes): Rat | null {
  if (s.length == 0) return null;
  let ip = s;
  let fp = s.subarray(s.length);
  const dot = indexByte(s, 0x2e);
  if (dot >= 0) {
    ip = head(s, dot);
    fp = tail(s, dot + 1);
    if (indexByte(fp, 0x2c) >= 0 || indexByte(fp, 0x2e) >= 0) return null;
  }
  if (indexByte(ip, 0x2c) >= 0) {
    let group = 0;
    let groups = 0;
    for (let i = 0; i <= ip.length; i++) {
      if (i == ip.length || ip[i] == 0x2c) {
        if (groups == 0 && (group < 1 || group > 3)) return null;
        if (groups > 0 && group != 3) return null;
        groups++;
        group = 0;
      } else {
        group++;
      }
    }
  }
  const digits = new Buf();
  for (let i = 0; i < ip.length; i++) if (ip[i] != 0x2c) digits.putByte(ip[i]);
  if (digits.len == 0 && fp.length == 0) return null;
  digits.putBytes(fp);
  const d = digits.bytes();
  for (let i = 0; i < d.length; i++) if (!isDigit(d[i])) return null;
  return Rat.decimal(d, fp.length);
}

function parseFrac(s: Bytes): Rat | null {
  s = trimSpace(s);
  let num: Bytes;
  let den: Bytes;
  if (s.length > 0 && s[0] == 0x7b) {
    const n = braced(s);
    if (n == null) return null;
    const rest = trimSpace(tail(s, n.length + 2));
    const d = braced(rest);
    if (d == null || d.length + 2 != rest.length) return null;
    num = n;
    den = d;
  } else if (s.length == 2 && isDigit(s[0]) && isDigit(s[1])) {
    num = head(s, 1);
    den = tail(s, 1);
  } else {
    return null;
  }
  const a = parse(trimSpace(num));
  if (a == null) return null;
  const b = parse(trimSpace(den));
  if (b == null || b.isZero()) return null;
  return Rat.quo(a, b);
}

const FRAC = ascii("\\frac");

// Parse: the exact value of a normalised numeric answer.
function parse(s: Bytes): Rat | null {
  let neg = false;
  if (s.length > 0 && (s[0] == 0x2d || s[0] == 0x2b)) {
    neg = s[0] == 0x2d;
    s = trimSpace(tail(s, 1));
  }
  let r: Rat | null = null;
  const slash = indexByte(s, 0x2f);
  if (hasPrefix(s, FRAC)) {
    r = parseFrac(tail(s, FRAC.length));
  } else if (slash >= 0) {
    const a = decimal(trimSpace(head(s, slash)));
    const b = decimal(trimSpace(tail(s, slash + 1)));
    if (a != null && b != null && !b.isZero()) r = Rat.quo(a, b);
  } else {
    r = decimal(s);
  }
  if (r == null) return null;
  if (neg) r.neg = !r.neg;
  return r;
}

const NUMBER_CHARS = ascii("0123456789.,/");

// numberPrefix: the length of the longest numeric prefix of s.
function numberPrefix(s: Bytes): i32 {
  const maxNumber = 64;
  let i = 0;
  if (i < s.length && (s[i] == 0x2d || s[i] == 0x2b)) i++;
  if (hasPrefix(tail(s, i), FRAC)) {
    let j = i + FRAC.length;
    for (let k = 0; k < 2; k++) {
      const g = braced(tail(s, j));
      if (g == null) return 0;
      j += indexByte(tail(s, j), 0x7b) + g.length + 2;
    }
    return parse(head(s, j)) != null ? j : 0;
  }
  let j = i;
  while (j < s.length && indexByte(NUMBER_CHARS, s[j]) >= 0) j++;
  if (j - i > maxNumber) return 0;
  for (; j > i; j--) if (parse(head(s, j)) != null) return j;
  return 0;
}

const UNIT_WORDS: Bytes[] = [ascii("\\text{"), ascii("\\mathrm{"), ascii("\\mbox{"), ascii("\\%"), ascii("}")];
const PERCENT = ascii("\\%");

// stripUnits: drop the units after a leading number.
function stripUnits(s: Bytes): Bytes {
  const n = numberPrefix(s);
  if (n == 0 || n == s.length) return s;
  const rest = tail(s, n);
  const c0 = rest[0];
  if (
    !(c0 == 0x20 || c0 == 0x25 || hasPrefix(rest, PERCENT) ||
      hasPrefix(rest, UNIT_WORDS[0]) || hasPrefix(rest, UNIT_WORDS[1]) || hasPrefix(rest, UNIT_WORDS[2]))
  )
    return s;
  // Go replaces the unit words by spaces first; no word contains a space,
  // so one pass that reads each word as a space is the same.
  for (let i = 0; i < rest.length; ) {
    const t = tail(rest, i);
    let k = 0;
    for (; k < UNIT_WORDS.length; k++) if (hasPrefix(t, UNIT_WORDS[k])) break;
    if (k < UNIT_WORDS.length) {
      i += UNIT_WORDS[k].length;
      continue;
    }
    const c = rest[i];
    if (c == 0x20 || c == 0x2f || c == 0x2e || c == 0x25 || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) {
      i++;
    } else if (c == 0x5e && i + 1 < rest.length && isDigit(rest[i + 1])) {
      i += 2;
    } else {
      return s;
    }
  }
  return head(s, n);
}

// Normalize; the result is a view of o's bytes or of s.
function normalize(s: Bytes, o: Buf): Bytes {
  s = unwrap(replaceSpacing(unwrap(s), o));
  if (s.length > 0 && s[s.length - 1] == 0x2e) s = head(s, s.length - 1);
  s = trimSpace(s);
  if (hasPrefix(s, ESC_DOLLAR)) s = trimSpace(tail(s, 2));
  else if (hasPrefix(s, DOLLAR)) s = trimSpace(tail(s, 1));
  return stripUnits(s);
}

// squash: drop all white space when s has an ASCII space, tab or newline.
function squash(s: Bytes): Bytes {
  let any = false;
  for (let i = 0; i < s.length && !any; i++) {
    const c = s[i];
    any = c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d;
  }
  if (!any) return s;
  const o = new Buf();
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c < 0x80 && !isAsciiSpace(c)) {
      o.putByte(c);
      i++;
      continue;
    }
    const k = spaceAt(tail(s, i));
    if (k > 0) i += k;
    else o.putByte(s[i++]);
  }
  return o.bytes();
}

// Equal: the answers are equal under the package's rules.
export function equal(got: Bytes, want: Bytes): bool {
  const g = normalize(got, new Buf());
  const w = normalize(want, new Buf());
  const a = parse(g);
  if (a != null) {
    const b = parse(w);
    if (b != null) return a.equals(b);
  }
  return eq(squash(g), squash(w));
}

export { trimSpace };
