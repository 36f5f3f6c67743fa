/**
 * A small ONNX writer for test models: the protobuf wire format (varints, length-delimited
 * fields) of the few onnx.proto messages a graph of standard operators needs. Field numbers are
 * those of onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto, TypeProto, TensorShapeProto). Enough to write a model that onnxruntime loads;
 * not a general serializer.
 */

type Field = Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

const key = (field: number, wire: number): number[] => varint((field << 3) | wire);

/** A varint field (int32, int64, enum). */
function int(field: number, value: number | bigint): Field {
  return Uint8Array.from([...key(field, 0), ...varint(value)]);
}

/** A length-delimited field: bytes, a string or an embedded message. */
function bytes(field: number, payload: Uint8Array | string): Field {
  const b = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const head = Uint8Array.from([...key(field, 2), ...varint(b.length)]);
  return concat([head, b]);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** TensorProto.DataType values used here. */
export const ONNX_FLOAT = 1;
export const ONNX_INT64 = 7;

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: number;
  shape: readonly Dim[];
}

function valueInfo(v: ValueInfo): Uint8Array {
  const dims = v.shape.map((d) => bytes(1, typeof d === 'number' ? int(1, d) : bytes(2, d)));
  const shape = concat(dims);
  const tensorType = concat([int(1, v.elemType), bytes(2, shape)]);
  return concat([bytes(1, v.name), bytes(2, bytes(1, tensorType))]);
}

export interface Initializer {
  name: string;
  dims: readonly number[];
  /** Float32 data (FLOAT) or int64 data (INT64), stored as raw little-endian bytes. */
  data: Float32Array | BigInt64Array;
}

function tensor(t: Initializer): Uint8Array {
  const type = t.data instanceof Float32Array ? ONNX_FLOAT : ONNX_INT64;
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return concat([...t.dims.map((d) => int(1, d)), int(2, type), bytes(8, t.name), bytes(9, raw)]);
}

export interface Node {
  opType: string;
  inputs: readonly string[];
  outputs: readonly string[];
  /** Integer attributes (e.g. Gather's axis). */
  ints?: Record<string, number>;
}

function node(n: Node, index: number): Uint8Array {
  const attrs = Object.entries(n.ints ?? {}).map(([name, v]) =>
    bytes(5, concat([bytes(1, name), int(3, v), int(20, 2 /* AttributeType.INT */)])),
  );
  return concat([
    ...n.inputs.map((i) => bytes(1, i)),
    ...n.outputs.map((o) => bytes(2, o)),
    bytes(3, `${n.opType.toLowerCase()}_${index}`),
    bytes(4, n.opType),
    ...attrs,
  ]);
}

export interface Graph {
  name: string;
  nodes: readonly Node[];
  initializers: readonly Initializer[];
  inputs: readonly ValueInfo[];
  outputs: readonly ValueInfo[];
}

/** The bytes of an ONNX model (IR version 8, default-domain opset `opset`). */
export function onnxModel(g: Graph, opset = 17): Uint8Array {
  const graph = concat([
    ...g.nodes.map((n, i) => bytes(1, node(n, i))),
    bytes(2, g.name),
    ...g.initializers.map((t) => bytes(5, tensor(t))),
    ...g.inputs.map((v) => bytes(11, valueInfo(v))),
    ...g.outputs.map((v) => bytes(12, valueInfo(v))),
  ]);
  return concat([int(1, 8), bytes(2, 'exprl-lab tests'), bytes(7, graph), bytes(8, concat([bytes(1, ''), int(2, opset)]))]);
}
