// A growable byte buffer. The verifier works on UTF-8 bytes, like the
// native Go verifier, so that both see the same text whatever the
// characters in it.
export class Buf {
  data: Uint8Array = new Uint8Array(64);
  len: i32 = 0;

  reset(): void {
    this.len = 0;
  }

  grow(n: i32): void {
    if (this.len + n <= this.data.length) return;
    let c = this.data.length << 1;
    while (c < this.len + n) c <<= 1;
    const d = new Uint8Array(c);
    d.set(this.data.subarray(0, this.len));
    this.data = d;
  }

  putByte(b: u8): void {
    this.grow(1);
    unchecked((this.data[this.len++] = b));
  }

  putBytes(b: Uint8Array): void {
    this.grow(b.length);
    this.data.set(b, this.len);
    this.len += b.length;
  }

  // putRaw appends n bytes of linear memory at p.
  putRaw(p: usize, n: i32): void {
    this.grow(n);
    memory.copy(this.data.dataStart + <usize>this.len, p, <usize>n);
    this.len += n;
  }

  putAscii(s: string): void {
    for (let i = 0; i < s.length; i++) this.putByte(<u8>s.charCodeAt(i));
  }

  putUtf8(cp: u32): void {
    if (cp < 0x80) {
      this.putByte(<u8>cp);
    } else if (cp < 0x800) {
      this.putByte(<u8>(0xc0 | (cp >> 6)));
      this.putByte(<u8>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      this.putByte(<u8>(0xe0 | (cp >> 12)));
      this.putByte(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      this.putByte(<u8>(0x80 | (cp & 0x3f)));
    } else {
      this.putByte(<u8>(0xf0 | (cp >> 18)));
      this.putByte(<u8>(0x80 | ((cp >> 12) & 0x3f)));
      this.putByte(<u8>(0x80 | ((cp >> 6) & 0x3f)));
      this.putByte(<u8>(0x80 | (cp & 0x3f)));
    }
  }

  // putJSONString appends b as a JSON string literal, quotes included.
  putJSONString(b: Uint8Array): void {
    const hex = "0123456789abcdef";
    this.putByte(0x22);
    for (let i = 0; i < b.length; i++) {
      const c = unchecked(b[i]);
      if (c == 0x22 || c == 0x5c) {
        this.putByte(0x5c);
        this.putByte(c);
      } else if (c < 0x20) {
        this.putAscii("\\u00");
        this.putByte(<u8>hex.charCodeAt(c >> 4));
        this.putByte(<u8>hex.charCodeAt(c & 15));
      } else {
        this.putByte(c);
      }
    }
    this.putByte(0x22);
  }

  bytes(): Uint8Array {
    return this.data.subarray(0, this.len);
  }
}

// ascii returns the bytes of an ASCII string literal.
export function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) unchecked((b[i] = <u8>s.charCodeAt(i)));
  return b;
}
