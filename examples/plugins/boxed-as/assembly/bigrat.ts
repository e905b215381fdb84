// Exact rationals for the boxed verifier. Answers only ever divide and
// negate decimals (a/b, \frac{a}{b}, nested fractions), so a rational is a
// sign with an unreduced numerator and denominator, and equality is a
// cross-multiplication: no addition, no gcd. Magnitudes are arbitrary
// precision (base 10^9 limbs), as in the native verifier's math/big.

const BASE: u64 = 1000000000;

// Nat is a magnitude: little-endian base-10^9 limbs without leading zero
// limbs; an empty array is zero.
type Nat = StaticArray<u32>;

function trimmed(d: StaticArray<u32>): Nat {
  let n = d.length;
  while (n > 0 && unchecked(d[n - 1]) == 0) n--;
  if (n == d.length) return d;
  const r = new StaticArray<u32>(n);
  for (let i = 0; i < n; i++) unchecked((r[i] = d[i]));
  return r;
}

function mul(x: Nat, y: Nat): Nat {
  if (x.length == 0 || y.length == 0) return new StaticArray<u32>(0);
  const d = new StaticArray<u32>(x.length + y.length);
  for (let i = 0; i < x.length; i++) {
    let carry: u64 = 0;
    const xi = <u64>unchecked(x[i]);
    for (let j = 0; j < y.length; j++) {
      const t = xi * <u64>unchecked(y[j]) + <u64>unchecked(d[i + j]) + carry;
      unchecked((d[i + j] = <u32>(t % BASE)));
      carry = t / BASE;
    }
    unchecked((d[i + y.length] = <u32>carry));
  }
  return trimmed(d);
}

function natEqual(x: Nat, y: Nat): bool {
  if (x.length != y.length) return false;
  for (let i = 0; i < x.length; i++) if (unchecked(x[i]) != unchecked(y[i])) return false;
  return true;
}

export class Rat {
  constructor(public neg: bool, public num: Nat, public den: Nat) {}

  isZero(): bool {
    return this.num.length == 0;
  }

  // decimal returns digits/10^fracDigits for ASCII decimal digits.
  static decimal(digits: Uint8Array, fracDigits: i32): Rat {
    const n = digits.length;
    const limbs = n / 9 + 1;
    const num = new StaticArray<u32>(limbs);
    for (let k = 0; k < limbs; k++) {
      const hi = n >= 9 * k ? n - 9 * k : 0;
      const lo = hi >= 9 ? hi - 9 : 0;
      let v: u32 = 0;
      for (let i = lo; i < hi; i++) v = v * 10 + <u32>(unchecked(digits[i]) - 0x30);
      unchecked((num[k] = v));
    }
    const den = new StaticArray<u32>(fracDigits / 9 + 1);
    let p: u32 = 1;
    for (let i = 0; i < fracDigits % 9; i++) p *= 10;
    den[fracDigits / 9] = p;
    return new Rat(false, trimmed(num), den);
  }

  // quo returns a/b; b must not be zero.
  static quo(a: Rat, b: Rat): Rat {
    return new Rat(a.neg != b.neg, mul(a.num, b.den), mul(a.den, b.num));
  }

  equals(b: Rat): bool {
    if (this.isZero() || b.isZero()) return this.isZero() && b.isZero();
    if (this.neg != b.neg) return false;
    return natEqual(mul(this.num, b.den), mul(b.num, this.den));
  }
}
