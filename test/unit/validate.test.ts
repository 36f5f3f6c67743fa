// The argument checks shared by the op wrappers (src/gpu/validate.ts): integer ranges, u32
// fields and indices, and tensors (element type, size, segments), each naming op and argument.
import { describe, expect, it } from 'vitest';
import { Tensor } from '../../src/gpu/tensor';
import { MAX_SEGMENT_END, needInt, needSegment, needTensor, needU32, needU32Index } from '../../src/gpu/validate';

/** A tensor over a stub buffer: the checks read only dtype and size. */
function tensor(n: number, dtype: 'f32' | 'u32' = 'f32'): Tensor {
  return new Tensor({ size: Math.max(4, n * 4), label: 'stub' } as GPUBuffer, [n], dtype);
}

describe('needInt and needU32', () => {
  it('accept integers in range', () => {
    expect(() => needInt('op', 'rows', 0)).not.toThrow();
    expect(() => needInt('op', 'dim', 1, 1)).not.toThrow();
    expect(() => needU32('op', 'seed', 0xffffffff)).not.toThrow();
  });

  it('name op, argument and range', () => {
    expect(() => needInt('rmsnormForward', 'rows', -1)).toThrow(/^rmsnormForward: rows -1 must be a non-negative integer$/);
    expect(() => needInt('rmsnormForward', 'dim', 0, 1)).toThrow(/^rmsnormForward: dim 0 must be a positive integer$/);
    expect(() => needInt('op', 'n', 2.5)).toThrow(/n 2.5 must be a non-negative integer/);
    expect(() => needInt('op', 'vocab', 20, 1, 16)).toThrow(/vocab 20 must be an integer in \[1, 16\]/);
    expect(() => needU32('op', 'topK', 2 ** 32)).toThrow(/topK 4294967296 must be an integer in \[0, 4294967295\]/);
    expect(() => needU32Index('op', 'R·V', 2 ** 32)).toThrow(/op: R·V = 4294967296 exceeds the u32 index range/);
    expect(() => needU32Index('op', 'R·V', 2 ** 32 - 1)).not.toThrow();
  });
});

describe('needTensor and needSegment', () => {
  it('check element type and size, naming the tensor', () => {
    expect(() => needTensor('add', 'b', tensor(10), 10)).not.toThrow();
    expect(() => needTensor('add', 'b', tensor(9), 10)).toThrow(/^add: b has 9 elements, needs 10$/);
    expect(() => needTensor('op', 'x', tensor(9), 10, 'f32', ' (rows=2 cols=5)')).toThrow(/needs 10 \(rows=2 cols=5\)$/);
    expect(() => needTensor('fill', 'y', tensor(10, 'u32'), 10)).toThrow(/^fill: y is Tensor<u32>\[10\], must be f32$/);
    expect(() => needTensor('op', 'ids', tensor(4), 4, 'u32')).toThrow(/ids is Tensor<f32>\[4\], must be u32/);
  });

  it('check a segment [offset, offset + n) and its bounds', () => {
    expect(() => needSegment('op', 'x', tensor(10), 4, 6)).not.toThrow();
    expect(() => needSegment('op', 'x', tensor(10), 5, 6)).toThrow(/x has 10 elements, needs 11 \(offset 5 \+ n 6\)/);
    expect(() => needSegment('op', 'x', tensor(10), -1, 6)).toThrow(/x offset -1 must be an integer/);
    expect(() => needSegment('op', 'x', tensor(10), MAX_SEGMENT_END, 1)).toThrow(/segment ends at/);
    expect(() => needSegment('op', 'x', tensor(10, 'u32'), 0, 1)).toThrow(/must be f32/);
  });
});
