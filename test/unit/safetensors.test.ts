import { describe, expect, it } from 'vitest';
import { bf16ToF32, f16BitsToF32Bits, f16ToF32, f32Bits, f32BitsToBf16, f32BitsToF16, f32FromBits, f32ToBf16, f32ToF16 } from '../../src/model/dtype';
import {
  decodeFloat32,
  encodeSafetensors,
  parseSafetensors,
  parseSafetensorsHeader,
  readSafetensorsHeader,
  writeSafetensors,
  type TensorToWrite,
} from '../../src/model/safetensors';
import { freshSeed, rng } from '../support/check';

function bitsOf(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

/** A float32 array with every awkward value: ±0, ±inf, NaNs with payloads, subnormals, extremes. */
function awkwardFloats(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n);
  const bits = bitsOf(out);
  const special = [0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc12345, 0x00000001, 0x807fffff, 0x7f7fffff, 0x00800000];
  for (let i = 0; i < n; i++) bits[i] = i < special.length ? special[i] : Math.floor(rand() * 2 ** 32) >>> 0;
  return out;
}

/** A header written by hand, so the parser is tested on files our writer would never make. */
function rawFile(header: unknown, dataBytes: number, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  return out;
}

describe('dtype conversions', () => {
  it('bf16 widening is the top half of a float32, for every pattern', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = bitsOf(bf16ToF32(all));
    const bad: number[] = [];
    for (let h = 0; h < 65536; h++) if (got[h] !== (h << 16) >>> 0) bad.push(h);
    expect(bad).toEqual([]);
  });

  it('f16 widening matches the IEEE formula for every pattern (subnormals, inf, NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const got = f16ToF32(all);
    const bits = bitsOf(got);
    const bad: string[] = [];
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const e = (h >> 10) & 0x1f;
      const m = h & 0x3ff;
      const want = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m === 0 ? sign * Infinity : NaN) : sign * 2 ** (e - 15) * (1 + m / 1024);
      // A NaN's payload survives, shifted into the float32 mantissa's top bits.
      const ok = Number.isNaN(want) ? Number.isNaN(got[h]) && (bits[h] & 0x7fffff) === m << 13 : Object.is(got[h], want);
      if (Number.isNaN(want)) nans++;
      if (!ok || bits[h] !== f16BitsToF32Bits(h)) bad.push(`0x${h.toString(16)}: ${got[h]} vs ${want}`);
    }
    expect(bad).toEqual([]);
    expect(nans).toBe(2 * 1023);
    expect(got[1]).toBe(2 ** -24);
    expect(got[0x3ff]).toBe(1023 * 2 ** -24);
    expect(Object.is(got[0x8000], -0)).toBe(true);
  });

  it('narrowing back gives the same pattern for every non-NaN value; NaN stays NaN', () => {
    const bad: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const isNaN16 = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      const viaHalf = f32BitsToF16(f16BitsToF32Bits(h));
      const viaBf = f32BitsToBf16((h << 16) >>> 0);
      const halfOk = isNaN16 ? (viaHalf & 0x7c00) === 0x7c00 && (viaHalf & 0x3ff) !== 0 : viaHalf === h;
      const isNaNBf = (h & 0x7f80) === 0x7f80 && (h & 0x7f) !== 0;
      const bfOk = isNaNBf ? Number.isNaN(f32FromBits(viaBf << 16)) : viaBf === h;
      if (!halfOk) bad.push(`f16 0x${h.toString(16)} -> 0x${viaHalf.toString(16)}`);
      if (!bfOk) bad.push(`bf16 0x${h.toString(16)} -> 0x${viaBf.toString(16)}`);
    }
    expect(bad).toEqual([]);
  });

  it('narrowing rounds to nearest, ties to even, overflowing to infinity', () => {
    const bf = (x: number): number => f32FromBits(f32BitsToBf16(f32Bits(x)) << 16);
    expect(bf(1 + 2 ** -8)).toBe(1); // tie, even is 1
    expect(bf(1 + 3 * 2 ** -8)).toBe(1 + 2 ** -6); // tie, even is up
    expect(bf(1 + 2 ** -8 + 2 ** -20)).toBe(1 + 2 ** -7); // just above the tie
    expect(bf(3.3e38)).toBe(f32FromBits(0x7f780000)); // stays finite
    expect(bf(f32FromBits(0xff7fffff))).toBe(-Infinity); // -float32 max rounds past bf16's max
    expect(Object.is(bf(-0), -0)).toBe(true);
    const half = (x: number): number => f32FromBits(f16BitsToF32Bits(f32BitsToF16(f32Bits(x))));
    expect(half(65504)).toBe(65504);
    expect(half(65519)).toBe(65504);
    expect(half(65520)).toBe(Infinity); // tie between 65504 and 2^16, even is up
    expect(half(2 ** -24)).toBe(2 ** -24); // smallest subnormal
    expect(half(2 ** -25)).toBe(0); // tie, even is 0
    expect(half(1.5 * 2 ** -25)).toBe(2 ** -24);
    expect(half(3 * 2 ** -25)).toBe(2 ** -23); // tie between subnormals 1 and 2, even is 2
    expect(half(2 ** -14 - 2 ** -25)).toBe(2 ** -14); // subnormal rounding up into the normals
    expect(half(1e-10)).toBe(0);
    expect(half(1 + 2 ** -11)).toBe(1);
    expect(half(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(half(-1e6)).toBe(-Infinity);
    const arr = new Float32Array([1, -2.5, 0.1]);
    expect(Array.from(f16ToF32(f32ToF16(arr)))).toEqual([1, -2.5, Math.fround(0.0999755859375)]);
    expect(Array.from(bf16ToF32(f32ToBf16(arr)))).toEqual([1, -2.5, f32FromBits(0x3dcd0000)]);
  });
});

describe('safetensors writer and parser', () => {
  it('round-trips float32, bf16 and f16 tensors bit-exactly, including unaligned data and odd shapes', () => {
    const seed = freshSeed();
    const rand = rng(seed);
    const a = awkwardFloats(7 * 13, seed);
    const bf = new Uint16Array(5).map(() => Math.floor(rand() * 65536));
    const hf = new Uint16Array(3).map(() => Math.floor(rand() * 65536));
    const b = awkwardFloats(11, seed + 1);
    const tensors: TensorToWrite[] = [
      { name: 'a', shape: [7, 13], data: a },
      { name: 'odd.bf16', shape: [5], data: bf, dtype: 'BF16' },
      // After 10 bytes of bf16, this float32 tensor starts at an offset not divisible by 4.
      { name: 'b.after.odd', shape: [1, 11, 1], data: b },
      { name: 'scalar', shape: [], data: new Float32Array([Math.PI]) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'h', shape: [3], data: hf, dtype: 'F16' },
    ];
    const bytes = writeSafetensors(tensors, { format: 'pt', note: 'x' });
    const file = parseSafetensors(bytes, 'rt.safetensors');
    expect(file.header.tensors.map((t) => t.name), `seed ${seed}`).toEqual(tensors.map((t) => t.name));
    expect(file.header.metadata).toEqual({ format: 'pt', note: 'x' });
    expect((file.header.byName.get('b.after.odd')?.byteOffset ?? 0) % 4).not.toBe(0);
    expect(bitsOf(file.float32('a')), `seed ${seed}`).toEqual(bitsOf(a));
    expect(bitsOf(file.float32('b.after.odd')), `seed ${seed}`).toEqual(bitsOf(b));
    expect(new Uint16Array(file.bytes('odd.bf16').slice().buffer)).toEqual(bf);
    expect(bitsOf(file.float32('odd.bf16'))).toEqual(bitsOf(bf16ToF32(bf)));
    expect(bitsOf(file.float32('h'))).toEqual(bitsOf(f16ToF32(hf)));
    expect(file.float32('scalar')[0]).toBe(Math.fround(Math.PI));
    expect(file.float32('empty').length).toBe(0);
    expect(file.header.byName.get('a')?.shape).toEqual([7, 13]);
    expect(file.header.byName.get('scalar')?.shape).toEqual([]);
  });

  it('writes deterministically, pads the header with spaces to 8 bytes and stores BF16 from float32 by rounding', () => {
    const x = new Float32Array([1, 1 + 2 ** -8, -0, 3]);
    const tensors: TensorToWrite[] = [{ name: 'z', shape: [2, 2], data: x, dtype: 'BF16' }];
    const one = writeSafetensors(tensors);
    expect(writeSafetensors(tensors)).toEqual(one);
    const n = new DataView(one.buffer).getUint32(0, true);
    expect(new DataView(one.buffer).getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const text = new TextDecoder().decode(one.subarray(8, 8 + n));
    expect(text).toMatch(/^\{.*\} *$/);
    expect(text.trimEnd()).toBe('{"z":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}');
    expect(one.length).toBe(8 + n + 8);
    expect(Array.from(parseSafetensors(one).float32('z'))).toEqual([1, 1, -0, 3]);
    const enc = encodeSafetensors(tensors);
    expect(enc.byteLength).toBe(one.length);
  });

  it('rejects bad inputs to the writer, naming the tensor', () => {
    expect(() => writeSafetensors([{ name: 'w', shape: [2, 3], data: new Float32Array(5) }])).toThrow(/"w".*5 values.*\[2, 3\]/);
    expect(() => writeSafetensors([{ name: 'w', shape: [1], data: new Uint16Array(1) }])).toThrow(/"w".*BF16 or F16/);
    expect(() => writeSafetensors([{ name: 'w', shape: [1], data: new Float32Array(1) }, { name: 'w', shape: [1], data: new Float32Array(1) }])).toThrow(/"w".*duplicate/);
    expect(() => writeSafetensors([{ name: '__metadata__', shape: [1], data: new Float32Array(1) }])).toThrow(/reserved/);
  });

  it('reads the header through a range reader and reports a truncated file', async () => {
    const bytes = writeSafetensors([{ name: 'w', shape: [3], data: new Float32Array([1, 2, 3]) }]);
    const reads: Array<[number, number]> = [];
    const reader = async (s: number, e: number): Promise<Uint8Array> => {
      reads.push([s, e]);
      return bytes.slice(s, e);
    };
    const h = await readSafetensorsHeader(reader, bytes.length, 'f.safetensors');
    expect(h.tensors[0].byteOffset).toBe(h.dataStart);
    expect(reads).toEqual([[0, 8], [8, h.dataStart]]);
    await expect(readSafetensorsHeader(reader, bytes.length - 1, 'cut.safetensors')).rejects.toThrow(/cut\.safetensors: tensor "w".*run past the end/);
    await expect(readSafetensorsHeader(reader, 5, 'tiny.safetensors')).rejects.toThrow(/tiny\.safetensors: truncated/);
  });

  describe('parser errors name the file and the tensor', () => {
    const F = 'bad.safetensors';
    const cases: Array<[string, Uint8Array, RegExp]> = [
      ['shorter than the length field', new Uint8Array(5), /bad\.safetensors: truncated safetensors file \(5 bytes/],
      ['header past the end', (() => { const b = rawFile({}, 0); new DataView(b.buffer).setUint32(0, 1000, true); return b; })(), /header \(1000 bytes\) runs past the end.*truncated/],
      ['huge header length', (() => { const b = rawFile({}, 0); new DataView(b.buffer).setUint32(4, 1, true); return b; })(), /over the 100000000-byte limit/],
      ['not JSON', rawFile(null, 0, '{"a": '), /not valid JSON/],
      ['not UTF-8', (() => { const b = rawFile(null, 0, '{"x":1}'); b[10] = 0xff; return b; })(), /not valid UTF-8/],
      ['JSON array', rawFile([], 0), /must be a JSON object/],
      ['unknown dtype', rawFile({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /tensor "w": unknown dtype "F33"/],
      ['non-finite shape', rawFile(null, 4, '{"w":{"dtype":"F32","shape":[1e400],"data_offsets":[0,4]}}'), /tensor "w": shape \[null\] must hold non-negative integers/],
      ['negative shape', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor "w": shape \[-1\]/],
      ['fractional shape', rawFile({ w: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, 4), /tensor "w": shape \[1.5\]/],
      ['shape too large', rawFile({ w: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 4] } }, 4), /tensor "w".*too many elements/],
      ['missing shape', rawFile({ w: { dtype: 'F32', data_offsets: [0, 4] } }, 4), /tensor "w": shape must be an array/],
      ['size mismatch', rawFile({ w: { dtype: 'BF16', shape: [3], data_offsets: [0, 4] } }, 4), /tensor "w": data_offsets \[0, 4\] hold 4 bytes but shape \[3\] of BF16 needs 6/],
      ['offsets past the data', rawFile({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /tensor "w": data_offsets \[0, 8\] run past the end of the data \(4 bytes\)/],
      ['reversed offsets', rawFile({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), /tensor "w": data_offsets \[4, 0\] end before/],
      ['bad offsets', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4), /tensor "w": data_offsets must be two/],
      ['overlap', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), /tensor "b" \(bytes 4\.\.12\) overlaps tensor "a"/],
      ['gap', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /tensor "b" starts at byte 8.*gap after byte 4/],
      ['trailing bytes', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 6), /2 bytes after the last tensor/],
      ['extra field', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], extra: 1 } }, 4), /tensor "w": unexpected header field "extra"/],
      ['entry not an object', rawFile({ w: 3 }, 0), /tensor "w": header entry must be an object/],
      ['bad metadata', rawFile({ __metadata__: { a: 1 } }, 0), /__metadata__\["a"\] must be a string/],
      // Names are untrusted text: quoted and escaped, so a newline or quote cannot pass for the message's own.
      ['name with a newline and quotes', rawFile({ 'w"\nerror: fake': { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), /^bad\.safetensors: tensor "w\\"\\nerror: fake": unknown dtype "F33"$/],
      ['field with a newline', rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4], 'x\ny': 1 } }, 4), /tensor "w": unexpected header field "x\\ny"$/],
    ];
    for (const [what, bytes, want] of cases) {
      it(what, () => {
        expect(() => parseSafetensors(bytes, F)).toThrow(want);
        expect(() => parseSafetensors(bytes, F)).toThrow(/^bad\.safetensors: /);
      });
    }

    it('a valid header of a dtype this project does not read: parsed, then refused on decode', () => {
      const bytes = rawFile({ steps: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8);
      const file = parseSafetensors(bytes, F);
      expect(file.header.tensors[0].dtype).toBe('I64');
      expect(() => file.float32('steps')).toThrow(/bad\.safetensors: tensor "steps": dtype I64 is not supported/);
      expect(() => file.float32('nope')).toThrow(/no tensor "nope"/);
      expect(() => decodeFloat32({ name: 'w', dtype: 'F32', size: 2 }, new Uint8Array(4), F)).toThrow(/tensor "w": got 4 bytes, expected 8/);
    });

    it('an empty file with an empty header is valid', () => {
      const h = parseSafetensorsHeader(new TextEncoder().encode('{}      '), 16, F);
      expect(h.tensors).toEqual([]);
      expect(h.metadata).toBeUndefined();
    });
  });
});
