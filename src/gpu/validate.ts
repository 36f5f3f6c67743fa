/**
 * Argument checks shared by the op wrappers. Each throws before anything is recorded, with a
 * message that starts with the op and names the offending tensor or size. (Binding aliasing is
 * checked by the runtime, for every dispatch.)
 */
import type { DType, Tensor } from './tensor';

/** Element indices are u32 in the shaders; segments end below this so a padded grid still fits. */
export const MAX_SEGMENT_END = 2 ** 31;

/** Throws unless v is an integer in [min, max]; the message says "non-negative" or "positive" for the usual ranges. */
export function needInt(op: string, what: string, v: number, min = 0, max = Number.MAX_SAFE_INTEGER): void {
  if (Number.isInteger(v) && v >= min && v <= max) return;
  const range =
    max < Number.MAX_SAFE_INTEGER ? `an integer in [${min}, ${max}]` : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
  throw new Error(`${op}: ${what} ${v} must be ${range}`);
}

/** Throws unless v fits a u32 uniform field. */
export function needU32(op: string, what: string, v: number): void {
  needInt(op, what, v, 0, 0xffffffff);
}

/** Throws when `n` elements could not all be addressed by a u32 index in a shader. */
export function needU32Index(op: string, what: string, n: number): void {
  if (n > 0xffffffff) throw new Error(`${op}: ${what} = ${n} exceeds the u32 index range`);
}

/** Throws unless `t` holds `dtype` elements, at least n of them; `detail` says where n comes from. */
export function needTensor(op: string, name: string, t: Tensor, n: number, dtype: DType = 'f32', detail = ''): void {
  if (t.dtype !== dtype) throw new Error(`${op}: ${name} is ${t}, must be ${dtype}`);
  if (t.size < n) throw new Error(`${op}: ${name} has ${t.size} elements, needs ${n}${detail}`);
}

/** Throws unless t is f32 and holds elements [offset, offset + n), which end within MAX_SEGMENT_END. */
export function needSegment(op: string, name: string, t: Tensor, offset: number, n: number): void {
  needInt(op, `${name} offset`, offset, 0, MAX_SEGMENT_END);
  needInt(op, `${name} length`, n, 0, MAX_SEGMENT_END);
  if (offset + n > MAX_SEGMENT_END) throw new Error(`${op}: ${name} segment ends at ${offset + n}, past the u32 index range ${MAX_SEGMENT_END}`);
  needTensor(op, name, t, offset + n, 'f32', ` (offset ${offset} + n ${n})`);
}
