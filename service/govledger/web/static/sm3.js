// SM3 (GB/T 32905-2016, 国密 SM3) in the browser, so a citizen's document is hashed on their own device.
// WebCrypto offers SHA-256 but not SM3, hence this implementation. Incremental: feed a large file in
// slices with update() instead of holding it all in memory.

const IV = [0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e];
const BLOCK_BYTES = 64;

function rotl(x, n) {
  n %= 32;
  return n === 0 ? x >>> 0 : ((x << n) | (x >>> (32 - n))) >>> 0;
}

function p0(x) {
  return (x ^ rotl(x, 9) ^ rotl(x, 17)) >>> 0;
}

function p1(x) {
  return (x ^ rotl(x, 15) ^ rotl(x, 23)) >>> 0;
}

// The round constant T_j rotated by j, precomputed once: it only depends on the round number.
const ROUND_CONSTANTS = Array.from({ length: 64 }, (_, j) => rotl(j < 16 ? 0x79cc4519 : 0x7a879d8a, j));

export class Sm3 {
  constructor() {
    this.state = IV.slice();
    this.buffer = new Uint8Array(BLOCK_BYTES);
    this.buffered = 0;
    this.length = 0; // message length in bytes; a Number is exact up to 2^53, far beyond any file here
    this.w = new Uint32Array(68);
    this.wPrime = new Uint32Array(64);
    this.finished = false;
  }

  update(bytes) {
    if (this.finished) throw new Error("SM3: update() after digest()");
    let offset = 0;
    this.length += bytes.length;
    if (this.buffered > 0) {
      const take = Math.min(BLOCK_BYTES - this.buffered, bytes.length);
      this.buffer.set(bytes.subarray(0, take), this.buffered);
      this.buffered += take;
      offset = take;
      if (this.buffered < BLOCK_BYTES) return this;
      this.compress(this.buffer, 0);
      this.buffered = 0;
    }
    for (; offset + BLOCK_BYTES <= bytes.length; offset += BLOCK_BYTES) this.compress(bytes, offset);
    if (offset < bytes.length) {
      this.buffer.set(bytes.subarray(offset), 0);
      this.buffered = bytes.length - offset;
    }
    return this;
  }

  // The 32-byte digest. Padding as in the standard: a 1 bit, zeros, then the bit length as 64-bit big-endian.
  digest() {
    if (this.finished) throw new Error("SM3: digest() called twice");
    const bitLength = this.length * 8;
    const padLength = this.buffered < 56 ? 64 - this.buffered : 128 - this.buffered;
    const padding = new Uint8Array(padLength);
    padding[0] = 0x80;
    const view = new DataView(padding.buffer);
    view.setUint32(padLength - 8, Math.floor(bitLength / 0x100000000));
    view.setUint32(padLength - 4, bitLength >>> 0);
    const length = this.length;
    this.update(padding);
    this.length = length;
    this.finished = true;
    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    this.state.forEach((word, i) => outView.setUint32(i * 4, word));
    return out;
  }

  compress(bytes, offset) {
    const w = this.w;
    const w1 = this.wPrime;
    for (let j = 0; j < 16; j++) {
      const k = offset + j * 4;
      w[j] = ((bytes[k] << 24) | (bytes[k + 1] << 16) | (bytes[k + 2] << 8) | bytes[k + 3]) >>> 0;
    }
    for (let j = 16; j < 68; j++) {
      w[j] = (p1(w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15)) ^ rotl(w[j - 13], 7) ^ w[j - 6]) >>> 0;
    }
    for (let j = 0; j < 64; j++) w1[j] = (w[j] ^ w[j + 4]) >>> 0;

    let [a, b, c, d, e, f, g, h] = this.state;
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + ROUND_CONSTANTS[j]) >>> 0, 7);
      const ss2 = (ss1 ^ a12) >>> 0;
      const ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
      const gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
      const tt1 = ((ff >>> 0) + d + ss2 + w1[j]) >>> 0;
      const tt2 = ((gg >>> 0) + h + ss1 + w[j]) >>> 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      e = p0(tt2);
    }
    const s = this.state;
    s[0] ^= a; s[1] ^= b; s[2] ^= c; s[3] ^= d; s[4] ^= e; s[5] ^= f; s[6] ^= g; s[7] ^= h;
    for (let i = 0; i < 8; i++) s[i] >>>= 0;
  }
}

// SM3 of a whole byte array, as a Uint8Array of 32 bytes.
export function sm3(bytes) {
  return new Sm3().update(bytes).digest();
}
