import { describe, expect, it } from 'vitest';
import { hostTensor, sizeOf } from '../../src/engine/tensor';
import { WebvlError } from '../../src/errors';

describe('hostTensor', () => {
  it('sizes and converts int64 data to BigInt64Array', () => {
    const t = hostTensor('int64', [2, 3], [1, 2, 3, 4, 5, 6]);
    expect(sizeOf(t.dims)).toBe(6);
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(t.data as BigInt64Array, Number)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects data whose length does not match the dims with a typed error', () => {
    let caught: unknown;
    try {
      hostTensor('float32', [2, 2], new Float32Array(3));
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(WebvlError);
    expect((caught as WebvlError).code).toBe('INVALID_INPUT');
  });

  it('zero-fills when no data is given', () => {
    const t = hostTensor('float32', [4]);
    expect(Array.from(t.data as Float32Array)).toEqual([0, 0, 0, 0]);
  });
});
