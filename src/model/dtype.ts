/**
 * Conversions between the 16-bit float formats checkpoints are shipped in (bfloat16, IEEE
 * half) and float32, on raw bit patterns held in Uint16Array. Widening is exact; narrowing rounds
 * to nearest, ties to even, as PyTorch does, so a value that already fits survives a round trip.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The bits of a float32 (NaN payloads kept). */
export function f32Bits(x: number): number {
  f32[0] = x;
  return u32[0];
}

/** A float32 from its bits. */
export function f32FromBits(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** bfloat16 is the top half of a float32: widening is a shift, exact for every pattern. */
export function bf16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}

/** One float32 (given by its bits) narrowed to bfloat16 bits, nearest-even; NaN stays NaN. */
export function f32BitsToBf16(b: number): number {
  b >>>= 0;
  // Rounding could carry a NaN's payload into an infinity, so NaN is kept quiet by hand.
  if ((b & 0x7fffffff) > 0x7f800000) return ((b >>> 16) | 0x0040) & 0xffff;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

export function f32ToBf16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToBf16(bits[i]);
  return out;
}

/** Float32 bits of one half-precision pattern: subnormals, infinities and NaN payloads exact. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  // Subnormal: mant · 2^-24, exactly representable as a normal float32.
  return (sign | (f32Bits(mant * 2 ** -24) & 0x7fffffff)) >>> 0;
}

let f16Table: Uint32Array | undefined;

/** Every half-precision pattern decoded once (256 KiB) makes bulk conversion a table lookup. */
function halfTable(): Uint32Array {
  if (f16Table === undefined) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32Bits(h);
  }
  return f16Table;
}

export function f16ToF32(src: Uint16Array): Float32Array {
  const table = halfTable();
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = table[src[i]];
  return out;
}

/** One float32 (given by its bits) narrowed to half-precision bits, nearest-even, overflow to ±inf. */
export function f32BitsToF16(b: number): number {
  b >>>= 0;
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  const mant = b & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below the smallest normal half: the value in units of 2^-24 is m24 · 2^(e-14).
    const shift = 14 - e;
    if (shift > 24) return sign;
    const m24 = mant | 0x800000;
    let r = m24 >>> shift;
    const rem = m24 & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to infinity: the right answer.
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

export function f32ToF16(src: Float32Array): Uint16Array {
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** Rounds float32 values to the nearest bfloat16 (kept as float32): what a bf16 file stores. */
export function roundToBf16(src: Float32Array): Float32Array {
  return bf16ToF32(f32ToBf16(src));
}
