// LFM2-VL's image processor (src/vision/lfm2-tiles.ts) on hand-computed cases of Lfm2VlImageProcessorFast's
// arithmetic, at LiquidAI/LFM2-VL's own settings (tile 512, patch 16, downsample 2, 64..256 image tokens, 2..10
// tiles, tolerance 2), and its refusals. The pixels themselves are checked against PyTorch in
// tests/engine/webgpu/lfm2vl.test.ts.
import { describe, expect, it } from 'vitest';
import { WebvlError } from '../../src/errors';
import { lfm2Geometry, lfm2Pieces, lfm2PieceTokens, planLfm2Tiles } from '../../src/vision/lfm2-tiles';

const LFM2_VL = {
  image_processor_type: 'Lfm2VlImageProcessorFast',
  downsample_factor: 2,
  do_image_splitting: true,
  min_tiles: 2,
  max_tiles: 10,
  use_thumbnail: true,
  min_image_tokens: 64,
  max_image_tokens: 256,
  encoder_patch_size: 16,
  tile_size: 512,
  max_pixels_tolerance: 2.0,
  image_mean: [0.5, 0.5, 0.5],
  image_std: [0.5, 0.5, 0.5],
  resample: 2,
};
const plan = planLfm2Tiles(LFM2_VL);

describe("Lfm2VlImageProcessorFast's geometry", () => {
  it('a 400 × 300 image stays one image: 288 × 384 (Python rounds 12.5 to 12), 9 × 12 = 108 tokens', () => {
    // round(300 / 32) = 9, round(400 / 32) = round(12.5) = 12: 110,592 pixels, within 64·32² … 256·32².
    const g = lfm2Geometry(plan, 300, 400);
    expect(g).toMatchObject({ rows: 0, cols: 0, resized: [288, 384] });
    expect(g.pieces).toEqual([[288, 384]]);
    expect(lfm2PieceTokens(plan, [288, 384])).toBe(108);
  });

  it('a 1000 × 750 image is tiled 3 × 2 (the nearest shape within 10 tiles) plus a 416 × 576 thumbnail', () => {
    // 736 · 992 = 730,112 pixels > 256 · 32² · 2: too large. Aspect 4:3; within 2..10 tiles the nearest is 3 wide,
    // 2 high (1.5). Thumbnail: beta = sqrt(750,000 / 262,144) = 1.6915; floor(443.4 / 32) · 32 = 416,
    // floor(591.2 / 32) · 32 = 576.
    const g = lfm2Geometry(plan, 750, 1000);
    expect(g).toMatchObject({ rows: 2, cols: 3, resized: [416, 576] });
    expect(g.pieces).toEqual([...new Array(6).fill([512, 512]), [416, 576]]);
    expect(lfm2PieceTokens(plan, [512, 512])).toBe(256);
    expect(lfm2PieceTokens(plan, [416, 576])).toBe(13 * 18);
  });

  it('a small image grows to min_image_tokens; a tall one tiles tall; without splitting a large one is resized', () => {
    // 40 × 30: 32 × 32 by rounding is under 64 · 32²: beta = sqrt(65,536 / 1,200) = 7.39, ceil(221.7 / 32) · 32
    // = 224, ceil(295.6 / 32) · 32 = 320.
    expect(lfm2Geometry(plan, 30, 40).resized).toEqual([224, 320]);
    const tall = lfm2Geometry(plan, 2000, 600);
    expect([tall.rows, tall.cols]).toEqual([3, 1]); // aspect 0.3: 1 wide, 3 high (0.333)
    const unsplit = lfm2Geometry(planLfm2Tiles({ ...LFM2_VL, do_image_splitting: false }), 750, 1000);
    expect(unsplit).toMatchObject({ rows: 0, cols: 0, resized: [416, 576] });
  });

  it('pieces are patches in (row, column, channel) order, normalized with the folder’s mean and std', () => {
    const tiny = planLfm2Tiles({
      ...LFM2_VL,
      encoder_patch_size: 2,
      tile_size: 4,
      min_image_tokens: 1,
      max_image_tokens: 4,
    });
    // An 8 × 8 image at factor 4 stays 8 × 8 (4 tokens): no resize, so pixels are the image's own.
    const data = new Uint8Array(8 * 8 * 4).map((_, i) => (i * 7) % 256);
    const { geometry, piece } = lfm2Pieces({ width: 8, height: 8, data }, tiny);
    expect(geometry.pieces).toEqual([[8, 8]]);
    const { patches, rows, cols } = piece(0);
    expect([rows, cols]).toEqual([4, 4]);
    // Patch (1, 2), its pixel (dy 1, dx 0), channel 2: image pixel (3, 4).
    const at = ((1 * 4 + 2) * 4 + (1 * 2 + 0)) * 3 + 2;
    expect(patches[at]).toBeCloseTo((data[(3 * 8 + 4) * 4 + 2] / 255 - 0.5) / 0.5, 6);
  });

  it('INVALID_MODEL for counts out of range or out of order', () => {
    for (const bad of [
      { min_tiles: 0 },
      { min_tiles: 4, max_tiles: 3 },
      { min_image_tokens: 300 },
      { encoder_patch_size: 2.5 },
      { max_pixels_tolerance: -1 },
    ])
      expect(() => planLfm2Tiles({ ...LFM2_VL, ...bad })).toThrow(WebvlError);
  });

  it('BAD_IMAGE for an aspect ratio above 200', () => {
    expect(() => lfm2Geometry(plan, 2, 500)).toThrow(/aspect ratio/);
  });
});
