// Property tests of the safetensors reader and writer (src/model/safetensors.ts; the shard index
// of src/model/checkpoint.ts): what is written reads back equal (names, shapes, dtypes, bits,
// metadata); a damaged file (truncated, extended, a header field of the wrong kind, any bytes at
// all) is a SafetensorsError naming the file, and the tensor where there is one; prototype keys in
// a header change nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWeightMap } from '../../src/model/checkpoint';
import { parseSafetensors, SafetensorsError, writeSafetensors, type TensorToWrite } from '../../src/model/safetensors';
import { expectPrototypeUnchanged, fuzzParams, jsonTextWithProtoKeys, PROTO_KEYS } from '../support/fuzz';

const FILE = 'weights/model.safetensors';

const nameArb = fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }), fc.constantFrom(...PROTO_KEYS, 'toString', 'hasOwnProperty', 'a.b', '"quoted"')).filter((n) => n !== '__metadata__');
const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });

/** A tensor as the writer takes it: float32 values (F32, or narrowed to BF16/F16), or raw 16-bit patterns. */
const tensorArb = (name: string): fc.Arbitrary<TensorToWrite> =>
  shapeArb.chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.oneof(
      fc.float32Array({ minLength: n, maxLength: n }).map((data) => ({ name, shape, data })),
      fc.record({ dtype: fc.constantFrom('BF16' as const, 'F16' as const), bits: fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: n, maxLength: n }) }).map(({ dtype, bits }) => ({ name, shape, dtype, data: new Uint16Array(bits) })),
    );
  });

const fileArb = fc
  .record({
    names: fc.uniqueArray(nameArb, { maxLength: 5 }),
    metadata: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 8 }), { maxKeys: 3 })),
  })
  .chain(({ names, metadata }) => fc.record({ tensors: fc.tuple(...names.map(tensorArb)), metadata: fc.constant(metadata ?? undefined) }));

function safetensorsError(f: () => unknown): SafetensorsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    return e as SafetensorsError;
  }
  throw new Error('expected a SafetensorsError, got a file');
}

/** A file's bytes with its JSON header replaced by `header` (padded to 8 bytes, as the writer does). */
function withHeader(file: Uint8Array, header: string): Uint8Array {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  const json = new TextEncoder().encode(header);
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + file.length - 8 - n).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.set(file.subarray(8 + n), 8 + padded);
  return out;
}

function headerOf(file: Uint8Array): Record<string, unknown> {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))) as Record<string, unknown>;
}

describe('safetensors', () => {
  it('write -> read gives back every tensor (name, shape, dtype, bits, order) and the metadata', () => {
    fc.assert(
      fc.property(fileArb, ({ tensors, metadata }) => {
        const st = parseSafetensors(writeSafetensors(tensors, metadata), FILE);
        expect(st.header.tensors.map((t) => [t.name, t.shape, t.dtype])).toEqual(tensors.map((t) => [t.name, [...t.shape], t.dtype ?? 'F32']));
        for (const t of tensors) {
          const raw = st.bytes(t.name);
          expect([...raw], t.name).toEqual([...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]);
          if (t.data instanceof Float32Array) expect(st.float32(t.name)).toEqual(t.data);
        }
        expect(st.header.metadata).toEqual(metadata);
        expectPrototypeUnchanged();
      }),
      fuzzParams(200),
    );
  });

  it('a file cut short or with bytes added is an error naming the file', () => {
    fc.assert(
      fc.property(fileArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 9 }), ({ tensors, metadata }, cut, extra) => {
        const bytes = writeSafetensors(tensors, metadata);
        const short = bytes.subarray(0, Math.floor(cut * bytes.length));
        // Tensors of size 0 take no bytes: cutting none of the data away leaves a valid file.
        if (short.length < bytes.length) expect(safetensorsError(() => parseSafetensors(short, FILE)).message.startsWith(`${FILE}: `)).toBe(true);
        const long = new Uint8Array([...bytes, ...extra]);
        expect(safetensorsError(() => parseSafetensors(long, FILE)).message).toMatch(new RegExp(`^${FILE}: .*bytes after the last tensor`));
      }),
      fuzzParams(150),
    );
  });

  it('a tensor entry with a field of the wrong kind is an error naming the file and the tensor', () => {
    const nonEmpty = fileArb.filter(({ tensors }) => tensors.length > 0);
    const wrong = fc.oneof(
      fc.record({ field: fc.constant('dtype'), value: fc.oneof(fc.constantFrom('F128', 'f32', '', 'toString', '__proto__'), fc.jsonValue({ maxDepth: 1 }).filter((v) => typeof v !== 'string')) }),
      fc.record({ field: fc.constant('shape'), value: fc.oneof(fc.constantFrom([-1], [1.5], ['2'], [2 ** 60, 2 ** 60], {}, 'x', null)) }),
      fc.record({ field: fc.constant('data_offsets'), value: fc.constantFrom([0], [0, 1, 2], [-4, 0], [1.5, 2], ['0', '4'], null, {}) }),
      fc.record({ field: fc.constantFrom('extra', 'prototype', 'constructor'), value: fc.jsonValue({ maxDepth: 1 }) }),
    );
    fc.assert(
      fc.property(nonEmpty, fc.nat(), wrong, ({ tensors, metadata }, which, { field, value }) => {
        const bytes = writeSafetensors(tensors, metadata);
        const header = headerOf(bytes);
        const name = tensors[which % tensors.length].name;
        const entry = header[name] as Record<string, unknown>;
        // JSON text, so "constructor" or "prototype" becomes an own key as in a file from disk.
        const entryText = `{${Object.entries(entry).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(field === k ? value : v)}`).join(',')}${Object.hasOwn(entry, field) ? '' : `,${JSON.stringify(field)}:${JSON.stringify(value)}`}}`;
        const text = `{${Object.entries(header).map(([k, v]) => `${JSON.stringify(k)}:${k === name ? entryText : JSON.stringify(v)}`).join(',')}}`;
        const err = safetensorsError(() => parseSafetensors(withHeader(bytes, text), FILE));
        expect(err.message.startsWith(`${FILE}: tensor ${JSON.stringify(name)}: `), err.message).toBe(true);
        expectPrototypeUnchanged();
      }),
      fuzzParams(200),
    );
  });

  it('any header JSON, prototype keys at any depth included, is a file or an error naming the file; Object.prototype is unchanged', () => {
    fc.assert(
      fc.property(fileArb, jsonTextWithProtoKeys, ({ tensors, metadata }, json) => {
        const bytes = withHeader(writeSafetensors(tensors, metadata), json);
        try {
          const st = parseSafetensors(bytes, FILE);
          for (const t of st.header.tensors) expect(Object.hasOwn(JSON.parse(json) as object, t.name)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(SafetensorsError);
          expect((e as Error).message.startsWith(`${FILE}: `)).toBe(true);
        }
        expectPrototypeUnchanged();
      }),
      fuzzParams(200),
    );
  });

  it('any bytes at all are a file or an error naming the file, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.tuple(fc.nat({ max: 80 }), fc.uint8Array({ maxLength: 80 })).map(([n, rest]) => new Uint8Array([n, 0, 0, 0, 0, 0, 0, 0, ...rest]))), (bytes) => {
        try {
          parseSafetensors(bytes, FILE);
        } catch (e) {
          expect(e).toBeInstanceOf(SafetensorsError);
          expect((e as Error).message.startsWith(`${FILE}: `)).toBe(true);
        }
      }),
      fuzzParams(300),
    );
  });

  it('a shard index (weight_map) maps each tensor to a plain .safetensors name in the folder, or is an error naming the index and the tensor', () => {
    const shard = fc.oneof(fc.stringMatching(/^[\w.-]{1,8}\.safetensors$/), fc.constantFrom('../x.safetensors', '.hidden.safetensors', 'a/b.safetensors', 'model.bin', ''), fc.jsonValue({ maxDepth: 1 }));
    const INDEX = 'Qwen/model.safetensors.index.json';
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(nameArb, fc.constantFrom(...PROTO_KEYS)), shard), { maxLength: 4 }), (entries) => {
        // JSON text, so a "__proto__" tensor name is an own key as in a file.
        const text = `{"weight_map": {${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}}`;
        const map = Object.entries((JSON.parse(text) as { weight_map: Record<string, unknown> }).weight_map);
        const bad = map.find(([, f]) => typeof f !== 'string' || !/^[\w.-]+\.safetensors$/.test(f) || f.startsWith('.'));
        if (bad !== undefined) expect(() => parseWeightMap(JSON.parse(text) as Record<string, unknown>, INDEX)).toThrow(`${INDEX}: tensor ${JSON.stringify(bad[0])} maps to`);
        else if (map.length === 0) expect(() => parseWeightMap(JSON.parse(text) as Record<string, unknown>, INDEX)).toThrow(`${INDEX}: weight_map is empty`);
        else expect([...parseWeightMap(JSON.parse(text) as Record<string, unknown>, INDEX)]).toEqual(map);
        expectPrototypeUnchanged();
      }),
      fuzzParams(200),
    );
  });
});
