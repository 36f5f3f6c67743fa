/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]},
 * "__metadata__"?: {string: string}}`, then the tensor data, offsets relative to its start.
 *
 * The parser trusts nothing: a checkpoint may come from anywhere, and a wrong offset would
 * otherwise surface as garbage weights far from the cause. Like the reference implementation it
 * requires the tensors to tile the data section exactly (no overlap, no gap, no trailing bytes).
 * Every error names the file and, where there is one, the tensor (as a JSON string: a name is
 * untrusted text, and a newline or quote in it must not pass for the message's own).
 *
 * Data is read through typed arrays, so a big-endian host is refused rather than misread.
 */
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype';

export type SafetensorsDType =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

/** Bytes per element of every dtype the format defines (so any valid file's header parses). */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** The float formats this project reads (all widened to float32). */
export type FloatDType = 'F32' | 'F16' | 'BF16';
export const FLOAT_DTYPES: readonly FloatDType[] = ['F32', 'F16', 'BF16'];

/** Header size cap, as in the reference implementation: a bigger header is a damaged file. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  /** Element count (product of the shape). */
  size: number;
  /** As written in the header: relative to the start of the data section. */
  dataOffsets: [number, number];
  /** Absolute position in the file. */
  byteOffset: number;
  byteLength: number;
}

export interface SafetensorsHeader {
  file: string;
  /** N, the JSON header's length in bytes. */
  headerLength: number;
  /** 8 + N: where the data section starts. */
  dataStart: number;
  fileSize: number;
  /** In header order. */
  tensors: SafetensorsTensorInfo[];
  byName: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string> | undefined;
}

/** Every error of this module: a file that is not valid safetensors, or tensors that cannot be written. The message starts with the file. */
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SafetensorsError';
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function requireLittleEndian(file: string): void {
  if (!LITTLE_ENDIAN) throw new SafetensorsError(`${file}: safetensors data is little-endian and this host is big-endian (not supported)`);
}

/** N from the first 8 bytes, checked against the file's size. */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || prefix.length < 8) throw new SafetensorsError(`${file}: truncated safetensors file (${fileSize} bytes, the header length alone takes 8)`);
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_HEADER_BYTES) throw new SafetensorsError(`${file}: safetensors header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit (damaged or not a safetensors file)`);
  if (8 + n > fileSize) throw new SafetensorsError(`${file}: safetensors header (${n} bytes) runs past the end of the file (${fileSize} bytes): truncated file`);
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const TENSOR_KEYS = new Set(['dtype', 'shape', 'data_offsets']);

/** Parses and checks the JSON header (the N bytes after the length) of a file of `fileSize` bytes. */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const headerLength = headerBytes.length;
  const dataStart = 8 + headerLength;
  if (dataStart > fileSize) throw new SafetensorsError(`${file}: safetensors header (${headerLength} bytes) runs past the end of the file (${fileSize} bytes): truncated file`);
  const dataLength = fileSize - dataStart;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch {
    throw new SafetensorsError(`${file}: safetensors header is not valid UTF-8`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${file}: safetensors header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(json)) throw new SafetensorsError(`${file}: safetensors header must be a JSON object`);

  let metadata: Record<string, string> | undefined;
  const tensors: SafetensorsTensorInfo[] = [];
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new SafetensorsError(`${file}: __metadata__ must be an object of strings`);
      for (const [k, v] of Object.entries(entry)) {
        if (typeof v !== 'string') throw new SafetensorsError(`${file}: __metadata__[${JSON.stringify(k)}] must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(entry)) throw new SafetensorsError(`${where}: header entry must be an object`);
    for (const k of Object.keys(entry)) if (!TENSOR_KEYS.has(k)) throw new SafetensorsError(`${where}: unexpected header field ${JSON.stringify(k)}`);
    const dtype = entry.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) throw new SafetensorsError(`${where}: unknown dtype ${JSON.stringify(dtype)}`);
    const shape = entry.shape;
    if (!Array.isArray(shape)) throw new SafetensorsError(`${where}: shape must be an array, got ${JSON.stringify(shape)}`);
    let size = 1;
    for (const d of shape) {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} must hold non-negative integers`);
      size *= d;
    }
    if (!Number.isSafeInteger(size)) throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} has too many elements`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(`${where}: data_offsets must be two non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (end < begin) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    const byteLength = size * DTYPE_BYTES[dtype as SafetensorsDType];
    if (end - begin !== byteLength) {
      throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${byteLength}`);
    }
    if (end > dataLength) {
      throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes): truncated file or bad offsets`);
    }
    tensors.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], size, dataOffsets: [begin, end], byteOffset: dataStart + begin, byteLength });
  }

  const sorted = [...tensors].sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let pos = 0;
  let prev: SafetensorsTensorInfo | undefined;
  for (const t of sorted) {
    const [begin, end] = t.dataOffsets;
    if (begin < pos) throw new SafetensorsError(`${file}: tensor ${JSON.stringify(t.name)} (bytes ${begin}..${end}) overlaps tensor ${JSON.stringify(prev?.name)} (ends at ${pos})`);
    if (begin > pos) throw new SafetensorsError(`${file}: tensor ${JSON.stringify(t.name)} starts at byte ${begin} of the data, leaving a gap after byte ${pos}`);
    pos = end;
    prev = t;
  }
  if (pos !== dataLength) throw new SafetensorsError(`${file}: ${dataLength - pos} bytes after the last tensor's data (the tensors cover ${pos} of ${dataLength})`);
  return { file, headerLength, dataStart, fileSize, tensors, byName: new Map(tensors.map((t) => [t.name, t])), metadata };
}

/** Reads and checks the header through a range reader (a file handle, a Blob, an HTTP range). */
export async function readSafetensorsHeader(
  read: (start: number, end: number) => Promise<Uint8Array>,
  fileSize: number,
  file: string,
): Promise<SafetensorsHeader> {
  const n = readHeaderLength(fileSize >= 8 ? await read(0, 8) : new Uint8Array(0), fileSize, file);
  const bytes = await read(8, 8 + n);
  if (bytes.length !== n) throw new SafetensorsError(`${file}: read ${bytes.length} header bytes, expected ${n}: truncated file`);
  return parseSafetensorsHeader(bytes, fileSize, file);
}

/** Header and tensor data of a whole file held in memory. */
export interface SafetensorsFile {
  header: SafetensorsHeader;
  /** The tensor's raw bytes (a view into the file's buffer). */
  bytes(name: string): Uint8Array;
  /** The tensor as a fresh Float32Array (F32, F16 or BF16). */
  float32(name: string): Float32Array;
}

export function parseSafetensors(data: Uint8Array, file = '<buffer>'): SafetensorsFile {
  const n = readHeaderLength(data, data.length, file);
  const header = parseSafetensorsHeader(data.subarray(8, 8 + n), data.length, file);
  const info = (name: string): SafetensorsTensorInfo => {
    const t = header.byName.get(name);
    if (t === undefined) throw new SafetensorsError(`${file}: no tensor ${JSON.stringify(name)}`);
    return t;
  };
  const bytes = (name: string): Uint8Array => {
    const t = info(name);
    return data.subarray(t.byteOffset, t.byteOffset + t.byteLength);
  };
  return { header, bytes, float32: (name) => decodeFloat32(info(name), bytes(name), file) };
}

/** A tensor's raw little-endian bytes widened to a fresh float32 array. */
export function decodeFloat32(info: Pick<SafetensorsTensorInfo, 'name' | 'dtype' | 'size'>, bytes: Uint8Array, file: string): Float32Array {
  const where = `${file}: tensor ${JSON.stringify(info.name)}`;
  if (!(FLOAT_DTYPES as readonly string[]).includes(info.dtype)) {
    throw new SafetensorsError(`${where}: dtype ${info.dtype} is not supported (only ${FLOAT_DTYPES.join(', ')})`);
  }
  const width = DTYPE_BYTES[info.dtype];
  if (bytes.length !== info.size * width) throw new SafetensorsError(`${where}: got ${bytes.length} bytes, expected ${info.size * width}`);
  requireLittleEndian(file);
  // Offsets inside a file need not be aligned to the element size (a BF16 tensor of odd length
  // shifts everything after it), and typed-array views must be: copy when they are not.
  const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice();
  if (info.dtype === 'F32') return new Float32Array(aligned.buffer, aligned.byteOffset, info.size).slice();
  const half = new Uint16Array(aligned.buffer, aligned.byteOffset, info.size);
  return info.dtype === 'BF16' ? bf16ToF32(half) : f16ToF32(half);
}

export interface TensorToWrite {
  name: string;
  shape: readonly number[];
  /** Float32 values (narrowed to `dtype` with nearest-even rounding), or raw 16-bit patterns. */
  data: Float32Array | Uint16Array;
  /** Default F32 for Float32Array data; required (BF16 or F16) for Uint16Array data. */
  dtype?: FloatDType;
}

export interface EncodedSafetensors {
  /** The 8-byte length and the padded JSON header. */
  header: Uint8Array;
  /** Each tensor's data, in order; the file is header followed by these. */
  chunks: Uint8Array[];
  byteLength: number;
}

/**
 * Encodes tensors in the order given, without concatenating them (a big model is written chunk
 * by chunk). The JSON header is padded with spaces so the data starts on an 8-byte boundary.
 */
export function encodeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>, file = '<output>'): EncodedSafetensors {
  requireLittleEndian(file);
  // No prototype: a tensor named "__proto__" is then a key like any other (on {}, assigning it
  // would replace the header's prototype and drop the tensor from the JSON).
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata !== undefined) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let pos = 0;
  for (const t of tensors) {
    const where = `${file}: tensor ${JSON.stringify(t.name)}`;
    if (t.name === '__metadata__' || Object.hasOwn(header, t.name)) throw new SafetensorsError(`${where}: duplicate or reserved name`);
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new SafetensorsError(`${where}: bad shape [${t.shape.join(', ')}]`);
    if (t.data.length !== size) throw new SafetensorsError(`${where}: ${t.data.length} values for shape [${t.shape.join(', ')}] (${size})`);
    let dtype: FloatDType;
    let bytes: Uint8Array;
    if (t.data instanceof Float32Array) {
      dtype = t.dtype ?? 'F32';
      const raw = dtype === 'F32' ? t.data : dtype === 'BF16' ? f32ToBf16(t.data) : f32ToF16(t.data);
      bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    } else {
      if (t.dtype !== 'BF16' && t.dtype !== 'F16') throw new SafetensorsError(`${where}: 16-bit data needs dtype BF16 or F16`);
      dtype = t.dtype;
      bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    }
    header[t.name] = { dtype, shape: [...t.shape], data_offsets: [pos, pos + bytes.length] };
    chunks.push(bytes);
    pos += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length);
  return { header: out, chunks, byteLength: out.length + pos };
}

/** The whole file in one buffer. */
export function writeSafetensors(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): Uint8Array {
  const enc = encodeSafetensors(tensors, metadata);
  const out = new Uint8Array(enc.byteLength);
  out.set(enc.header, 0);
  let pos = enc.header.length;
  for (const c of enc.chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
