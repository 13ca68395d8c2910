import type { HostTensor } from '../src/engine/tensor';

/** The ONNX backend test tolerance for floats (numpy assert_allclose with rtol=1e-3, atol=1e-7); exact otherwise. */
export function allClose(actual: HostTensor, expected: HostTensor, rtol = 1e-3, atol = 1e-7): string | null {
  if (actual.dims.join(',') !== expected.dims.join(',')) {
    return `shape [${actual.dims}] != expected [${expected.dims}]`;
  }
  const a = actual.data;
  const e = expected.data;
  const float = expected.dtype === 'float32' || expected.dtype === 'float16';
  for (let i = 0; i < e.length; i++) {
    const x = Number(a[i]);
    const y = Number(e[i]);
    if (Number.isNaN(y) && Number.isNaN(x)) continue;
    if (x === y) continue;
    if (!float || !(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      return `element ${i}: got ${x}, expected ${y}`;
    }
  }
  return null;
}
