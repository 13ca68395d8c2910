import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { allTiles, planTiles, tileGeometry, tileImage } from '../../src/vision/image-tiles';
import { preprocessBatch, preprocessRgba, resampleTaps } from '../../src/vision/preprocess';
import { type PreprocessorConfigJson, planPreprocess } from '../../src/vision/preprocessor-config';
import { base64Bytes, base64Floats, levelSize, preprocessFixture } from './fixtures/preprocess-fixture';

describe('preprocessRgba vs Pillow/NumPy (transformers image processors)', () => {
  for (const c of preprocessFixture.cases) {
    it(c.name, () => {
      const plan = planPreprocess(c.config);
      const out = preprocessRgba({ width: c.width, height: c.height, data: base64Bytes(c.rgba) }, plan);
      const expected = base64Floats(c.expected);
      expect([3, out.height, out.width]).toEqual(c.dims);
      expect(out.data.length).toBe(expected.length);
      // Pillow works in 8-bit fixed point: at most one level of the input apart, and rarely.
      const level = levelSize(c.config);
      const plane = out.height * out.width;
      let maxLevels = 0;
      let off = 0;
      for (let i = 0; i < expected.length; i++) {
        const levels = Math.abs(out.data[i] - expected[i]) / level[Math.floor(i / plane)];
        maxLevels = Math.max(maxLevels, levels);
        if (levels > 1e-3) off++;
      }
      expect(maxLevels).toBeLessThanOrEqual(1.01);
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

describe('resampleTaps', () => {
  it("bicubic weights are Pillow's: Keys a = -0.5 at the documented points, normalised per output", () => {
    // Upscaling 2×: output 3 centres at input 1.75; Pillow's window [centre − 2 + ½, centre + 2 + ½) holds
    // inputs 0..3, at distances (j + ½ − 1.75) = −1.25, −0.25, 0.75, 1.75.
    const t = resampleTaps(4, 8, 'bicubic');
    const keys = (x: number) => {
      const a = -0.5;
      const u = Math.abs(x);
      return u < 1 ? ((a + 2) * u - (a + 3)) * u * u + 1 : u < 2 ? (((u - 5) * u + 8) * u - 4) * a : 0;
    };
    const raw = [-1.25, -0.25, 0.75, 1.75].map((d) => keys(d));
    const at = (o: number) => Array.from(t.weights.subarray(o * t.maxTaps, o * t.maxTaps + t.count[o]));
    expect(t.start[3]).toBe(0);
    expect(t.count[3]).toBe(4);
    const sum = raw.reduce((a, b) => a + b, 0);
    at(3).forEach((w, k) => {
      expect(w).toBeCloseTo(raw[k] / sum, 12);
    });
    for (let o = 0; o < 8; o++) expect(at(o).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Negative lobes: bicubic overshoots, which is why results are clamped to 0..255.
    expect(Math.min(...at(3))).toBeLessThan(0);
  });

  it('the support widens with the downscale factor (antialiasing), for both filters', () => {
    expect(resampleTaps(100, 10, 'bilinear').maxTaps).toBe(21);
    expect(resampleTaps(100, 10, 'bicubic').maxTaps).toBe(41);
  });
});

describe('planPreprocess refuses what it does not implement (UNSUPPORTED_MODEL, never other pixels)', () => {
  const base: PreprocessorConfigJson = {
    size: { height: 8, width: 8 },
    image_mean: [0, 0, 0],
    image_std: [1, 1, 1],
  };
  const codeOf = (cfg: PreprocessorConfigJson) => {
    try {
      planPreprocess(cfg);
      return 'accepted';
    } catch (e) {
      return e instanceof WebvlError ? `${e.code}: ${e.message}` : 'untyped';
    }
  };
  it.each([
    ['resample 0 (nearest)', { ...base, resample: 0 }, /resample 0 \(nearest\)/],
    ['resample 5 (hamming)', { ...base, resample: 5 }, /hamming/],
    ['resample 4 (box)', { ...base, resample: 4 }, /box/],
    ['size {longest_edge}', { ...base, size: { longest_edge: 8 } }, /longest_edge/],
    ['size {shortest_edge, longest_edge}', { ...base, size: { shortest_edge: 8, longest_edge: 16 } }, /size/],
    ['do_pad', { ...base, do_pad: true }, /do_pad/],
    ['do_flip_channel_order', { ...base, do_flip_channel_order: true }, /do_flip_channel_order/],
    ['crop_pct', { ...base, crop_pct: 0.875 }, /crop_pct/],
    ['size_divisor', { ...base, size_divisor: 32 }, /size_divisor/],
  ])('%s', (_name, cfg, message) => {
    const got = codeOf(cfg as PreprocessorConfigJson);
    expect(got).toMatch(/^UNSUPPORTED_MODEL: /);
    expect(got).toMatch(message);
  });

  it('accepts the switches when they are off, and reads CLIP int sizes as the shortest edge', () => {
    expect(codeOf({ ...base, do_pad: false, crop_pct: null, size_divisor: null, do_convert_rgb: true })).toBe(
      'accepted',
    );
    const clip = planPreprocess({ ...base, size: 224, image_processor_type: 'CLIPImageProcessor' });
    expect(clip.resize).toEqual({ kind: 'shortest', edge: 224 });
    const legacy = planPreprocess({ ...base, size: 224, feature_extractor_type: 'CLIPFeatureExtractor' });
    expect(legacy.resize).toEqual({ kind: 'shortest', edge: 224 });
    const blip = planPreprocess({ ...base, size: 384, image_processor_type: 'BlipImageProcessor' });
    expect(blip.resize).toEqual({ kind: 'exact', height: 384, width: 384 });
    expect(planPreprocess({ ...base, resample: 3 }).resample).toBe('bicubic');
    expect(planPreprocess({ ...base, resample: 2 }).resample).toBe('bilinear');
    expect(planPreprocess({ ...base, resample: 1 }).resample).toBe('lanczos');
  });
});

describe("Idefics3's tiles (SmolVLM) vs transformers' Pillow backend", () => {
  for (const c of preprocessFixture.tiles) {
    it(c.name, () => {
      const out = tileImage(
        { width: c.width, height: c.height, data: base64Bytes(c.rgba) },
        planTiles(c.config),
      );
      expect([out.rows, out.cols]).toEqual([c.rows, c.cols]);
      expect([out.count, 3, out.edge, out.edge]).toEqual(c.dims);
      const expected = base64Floats(c.expected);
      const got = allTiles(out);
      // Three resizes in a row, each rounded to 8 bits as Pillow does: still one level at most, and rarely.
      const level = levelSize(c.config)[0];
      let maxLevels = 0;
      let off = 0;
      for (let i = 0; i < expected.length; i++) {
        const levels = Math.abs(got[i] - expected[i]) / level;
        maxLevels = Math.max(maxLevels, levels);
        if (levels > 1e-3) off++;
      }
      expect(maxLevels).toBeLessThanOrEqual(1.01);
      expect(off / expected.length).toBeLessThan(0.05);
    });
  }

  it("SmolVLM-256M's sizes (longest edge 2048, tiles of 512), by hand", () => {
    const plan = planTiles({ size: { longest_edge: 2048 }, max_image_size: { longest_edge: 512 } });
    // 640×480 → 2048 × int(2048 / (4/3)) = 1536: 4 × 3 tiles.
    expect(tileGeometry(plan, 480, 640)).toEqual({
      resized: [1536, 2048],
      grid: [1536, 2048],
      rows: 3,
      cols: 4,
    });
    // 100×333 (tall): 2048 high, int(2048 · 100/333) = 615 → 616 (even) wide; grid 2048 × 1024.
    expect(tileGeometry(plan, 333, 100)).toEqual({
      resized: [2048, 616],
      grid: [2048, 1024],
      rows: 4,
      cols: 2,
    });
    // A 1×1 image is resized up to 2048 × 2048 like any other.
    expect(tileGeometry(plan, 1, 1)).toEqual({ resized: [2048, 2048], grid: [2048, 2048], rows: 4, cols: 4 });
  });

  it('an image that would make more than MAX_IMAGE_TILES tiles is BAD_IMAGE (no resize: the image sets the grid)', () => {
    const plan = planTiles({ do_resize: false, max_image_size: { longest_edge: 16 } });
    expect(tileGeometry(plan, 512, 512)).toMatchObject({ rows: 32, cols: 32 }); // 1,024 tiles: the limit
    expect(() => tileGeometry(plan, 513, 512)).toThrow(expect.objectContaining({ code: 'BAD_IMAGE' }));
  });

  it('refuses sizes it cannot hold, with INVALID_MODEL', () => {
    const bad = [
      { size: { longest_edge: 0 }, max_image_size: { longest_edge: 32 } },
      { size: { longest_edge: 64 }, max_image_size: { longest_edge: 4097 } },
      { size: { longest_edge: 64 } },
      { size: { height: 64, width: 64 }, max_image_size: { longest_edge: 32 } },
    ];
    for (const cfg of bad)
      expect(() => planTiles(cfg)).toThrow(/longest_edge must be an integer in 1\.\.4096/);
  });
});
