import { describe, expect, it } from 'vitest';
import { resolveOrtWasm } from '../../src/api/ort-location';

const PAGE = 'https://app.example/shop/index.html';

describe('resolveOrtWasm (the ortWasmPaths option)', () => {
  it('resolves against the page: a folder gets its trailing slash, a .wasm URL is the file itself', () => {
    expect(resolveOrtWasm(undefined, PAGE)).toBeUndefined();
    expect(resolveOrtWasm('vendor/ort', PAGE)).toBe('https://app.example/shop/vendor/ort/');
    expect(resolveOrtWasm('/ort/', PAGE)).toBe('https://app.example/ort/');
    expect(resolveOrtWasm('https://cdn.example/ort/x.wasm', PAGE)).toEqual({
      wasm: 'https://cdn.example/ort/x.wasm',
    });
    expect(resolveOrtWasm('../bin/ort-wasm-simd-threaded.asyncify.wasm', PAGE)).toEqual({
      wasm: 'https://app.example/bin/ort-wasm-simd-threaded.asyncify.wasm',
    });
  });

  it('refuses an empty or unparsable value with INVALID_INPUT', () => {
    for (const bad of ['', '   ', 'http://[', 42 as unknown as string]) {
      expect(() => resolveOrtWasm(bad, PAGE)).toThrowError(
        expect.objectContaining({ code: 'INVALID_INPUT' }),
      );
    }
  });
});
