// Growable byte buffers in raw (non-GC) memory. The output of a handler is written straight into
// one of them, so it costs no garbage and stays valid until the next call resets it, which is what
// the ABI asks of an output (sdk/ABI.md, "One call").

/** A growable run of bytes outside the garbage-collected heap. */
export class ByteBuffer {
  /** Start of the bytes in linear memory; 0 until the first write. */
  ptr: usize = 0;
  /** Bytes written. */
  len: usize = 0;
  /** Bytes allocated. */
  cap: usize = 0;

  /** Forgets the contents, keeping the memory. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for n more bytes. */
  @inline
  reserve(n: usize): void {
    const need = this.len + n;
    if (need > this.cap) this.grow(need);
  }

  private grow(need: usize): void {
    let cap = this.cap < 256 ? <usize>256 : this.cap;
    while (cap < need) cap <<= 1;
    this.ptr = this.ptr == 0 ? heap.alloc(cap) : heap.realloc(this.ptr, cap);
    this.cap = cap;
  }

  /** Gives memory back when a large call left the buffer much bigger than usual. */
  shrink(keep: usize): void {
    if (this.cap > keep && this.len <= keep) {
      this.ptr = heap.realloc(this.ptr, keep);
      this.cap = keep;
    }
  }

  @inline
  byte(b: u32): void {
    this.reserve(1);
    store<u8>(this.ptr + this.len, <u8>b);
    this.len++;
  }

  bytes(src: usize, n: usize): void {
    this.reserve(n);
    memory.copy(this.ptr + this.len, src, n);
    this.len += n;
  }

  /** Appends a string known to be ASCII (field names, numbers, literals). */
  ascii(s: string): void {
    const n = <usize>s.length;
    this.reserve(n);
    const src = changetype<usize>(s);
    const dst = this.ptr + this.len;
    for (let i: usize = 0; i < n; i++) {
      store<u8>(dst + i, <u8>load<u16>(src + (i << 1)));
    }
    this.len += n;
  }

  /** Appends a string as UTF-8; a lone surrogate becomes U+FFFD so the bytes are always valid. */
  utf8(s: string): void {
    const n = s.length;
    const src = changetype<usize>(s);
    this.reserve(<usize>n * 3);
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u16>(src + (<usize>i << 1));
      if (c < 0x80) {
        this.putByte(c);
      } else {
        i = this.putNonAscii(c, src, i, n);
      }
    }
  }

  /** Appends a string as a JSON string literal (quoted, escaped, UTF-8). */
  jsonString(s: string): void {
    const n = s.length;
    const src = changetype<usize>(s);
    this.reserve(<usize>n * 3 + 2);
    this.putByte(0x22);
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u16>(src + (<usize>i << 1));
      if (c < 0x80) {
        if (c >= 0x20 && c != 0x22 && c != 0x5c) {
          this.putByte(c);
          continue;
        }
        this.reserve(6 + <usize>(n - i) * 3);
        this.putByte(0x5c);
        switch (c) {
          case 0x22: this.putByte(0x22); break;
          case 0x5c: this.putByte(0x5c); break;
          case 0x0a: this.putByte(0x6e); break; // \n
          case 0x0d: this.putByte(0x72); break; // \r
          case 0x09: this.putByte(0x74); break; // \t
          case 0x08: this.putByte(0x62); break; // \b
          case 0x0c: this.putByte(0x66); break; // \f
          default: {
            this.putByte(0x75); // \u00XX
            this.putByte(0x30);
            this.putByte(0x30);
            this.putByte(HEX.charCodeAt(c >> 4));
            this.putByte(HEX.charCodeAt(c & 15));
          }
        }
      } else {
        i = this.putNonAscii(c, src, i, n);
      }
    }
    this.reserve(1);
    this.putByte(0x22);
  }

  /**
   * Appends len bytes of UTF-8 at src (valid UTF-8, such as this SDK's JSON output) as a JSON
   * string literal, without decoding them into a string first.
   */
  jsonStringBytes(src: usize, len: usize): void {
    this.reserve(len + 2);
    this.putByte(0x22);
    for (let i: usize = 0; i < len; i++) {
      const c = <u32>load<u8>(src + i);
      if (c >= 0x20 && c != 0x22 && c != 0x5c) {
        this.putByte(c);
        continue;
      }
      this.reserve(6 + (len - i));
      this.putByte(0x5c);
      switch (c) {
        case 0x22: this.putByte(0x22); break;
        case 0x5c: this.putByte(0x5c); break;
        case 0x0a: this.putByte(0x6e); break;
        case 0x0d: this.putByte(0x72); break;
        case 0x09: this.putByte(0x74); break;
        default: {
          this.putByte(0x75);
          this.putByte(0x30);
          this.putByte(0x30);
          this.putByte(HEX.charCodeAt(c >> 4));
          this.putByte(HEX.charCodeAt(c & 15));
        }
      }
    }
    this.reserve(1);
    this.putByte(0x22);
  }

  // putByte writes without a bounds check: callers reserve first.
  @inline
  private putByte(b: u32): void {
    store<u8>(this.ptr + this.len, <u8>b);
    this.len++;
  }

  // Encodes the code unit at i (>= 0x80), consuming a following low surrogate when it pairs;
  // returns the index of the last unit consumed. Room for 3 bytes per remaining unit is reserved.
  private putNonAscii(c: u32, src: usize, i: i32, n: i32): i32 {
    if (c < 0x800) {
      this.putByte(0xc0 | (c >> 6));
      this.putByte(0x80 | (c & 0x3f));
      return i;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = <u32>load<u16>(src + (<usize>(i + 1) << 1));
      if (d >= 0xdc00 && d <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        this.putByte(0xf0 | (cp >> 18));
        this.putByte(0x80 | ((cp >> 12) & 0x3f));
        this.putByte(0x80 | ((cp >> 6) & 0x3f));
        this.putByte(0x80 | (cp & 0x3f));
        return i + 1;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // lone surrogate
    this.putByte(0xe0 | (c >> 12));
    this.putByte(0x80 | ((c >> 6) & 0x3f));
    this.putByte(0x80 | (c & 0x3f));
    return i;
  }

  /** Appends a JSON number: integers without a fraction, NaN and infinities as null. */
  number(n: f64): void {
    if (!isFinite(n)) {
      this.ascii("null");
    } else if (n == Math.trunc(n) && Math.abs(n) < 9007199254740992.0) {
      this.int(<i64>n);
    } else {
      this.ascii(n.toString());
    }
  }

  /** Appends a decimal integer. */
  int(v: i64): void {
    this.reserve(20);
    if (v < 0) {
      this.putByte(0x2d);
      // -i64.MIN_VALUE overflows; u64 holds its magnitude.
      this.uint(<u64>(-(v + 1)) + 1);
    } else {
      this.uint(<u64>v);
    }
  }

  private uint(v: u64): void {
    this.reserve(20);
    let digits = 1;
    for (let t = v; t >= 10; t /= 10) digits++;
    const end = this.ptr + this.len + <usize>digits;
    let p = end;
    do {
      p--;
      store<u8>(p, <u8>(0x30 + <u32>(v % 10)));
      v /= 10;
    } while (v != 0);
    this.len += <usize>digits;
  }

  /** Decodes the contents as UTF-8 (invalid sequences become U+FFFD). */
  toString(): string {
    return String.UTF8.decodeUnsafe(this.ptr, this.len);
  }
}

const HEX = "0123456789abcdef";

/** The packed return value of a handler: (ptr << 32) | len. */
@inline
export function packOutput(b: ByteBuffer): u64 {
  return (<u64>b.ptr << 32) | <u64>b.len;
}
