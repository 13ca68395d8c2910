import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { preprocessBatch, preprocessRgba } from '../../src/vision/preprocess';
import { planPreprocess } from '../../src/vision/preprocessor-config';
import { base64Bytes, base64Floats, preprocessFixture } from './fixtures/preprocess-fixture';

describe('preprocessRgba vs Pillow/NumPy', () => {
  for (const c of preprocessFixture.cases) {
    it(c.name, () => {
      const plan = planPreprocess(c.config);
      const out = preprocessRgba({ width: c.width, height: c.height, data: base64Bytes(c.rgba) }, plan);
      const expected = base64Floats(c.expected);
      expect([3, out.height, out.width]).toEqual(c.dims);
      expect(out.data.length).toBe(expected.length);
      // Pillow works in 8-bit fixed point; one level of 255, divided by the smallest std, is the bound.
      const oneLevel = 1 / 255 / Math.min(...(c.config.image_std ?? [1]));
      let maxAbs = 0;
      let off = 0;
      for (let i = 0; i < expected.length; i++) {
        const d = Math.abs(out.data[i] - expected[i]);
        maxAbs = Math.max(maxAbs, d);
        if (d > 1e-5) off++;
      }
      expect(maxAbs).toBeLessThanOrEqual(oneLevel * 1.01);
      // Rounding differences are rare, not systematic.
      expect(off / expected.length).toBeLessThan(0.05);
    });
  }

  it('identity case is exact (no resampling when sizes match)', () => {
    const c = preprocessFixture.cases[0];
    const out = preprocessRgba(
      { width: c.width, height: c.height, data: base64Bytes(c.rgba) },
      planPreprocess(c.config),
    );
    const expected = base64Floats(c.expected);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(out.data[i] - expected[i])).toBeLessThan(1e-5);
  });

  it('stacks a batch in NCHW order', () => {
    const c = preprocessFixture.cases[2];
    const img = { width: c.width, height: c.height, data: base64Bytes(c.rgba) };
    const plan = planPreprocess(c.config);
    const one = preprocessRgba(img, plan).data;
    const batch = preprocessBatch([img, img], plan);
    expect(batch.dims).toEqual([2, 3, 16, 20]);
    expect(batch.data.subarray(one.length)).toEqual(one);
  });

  it('rejects malformed pixel buffers with BAD_IMAGE', () => {
    const plan = planPreprocess(preprocessFixture.cases[0].config);
    const bad = [
      { width: 2, height: 2, data: new Uint8Array(15) },
      { width: 0, height: 4, data: new Uint8Array(0) },
    ];
    for (const img of bad) {
      let code = '';
      try {
        preprocessRgba(img, plan);
      } catch (e) {
        code = e instanceof WebvlError ? e.code : 'untyped';
      }
      expect(code).toBe('BAD_IMAGE');
    }
  });
});
