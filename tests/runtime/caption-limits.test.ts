// Caption bounds from the graphs' declared shapes. The expected shapes are what Python's onnx package
// reads from the same files (models/blip-tiny/onnx), written out here; the byte counts are worked by hand.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BEAM_MEMORY_BYTES, MAX_BEAMS_UNSIZED } from '../../src/limits';
import { graphIo } from '../../src/onnx/graph-io';
import { bytesPerBeam, captionLimits } from '../../src/pipelines/caption-limits';

const onnx = (name: string) =>
  graphIo(readFileSync(new URL(`../../models/blip-tiny/onnx/${name}.onnx`, import.meta.url)));
const _ = undefined;

describe('graphIo (declared shapes from the protobuf wire format)', () => {
  it('reads blip-tiny decoder and vision shapes as onnx.load does', () => {
    const decoder = onnx('decoder_model');
    expect([...(decoder?.inputs ?? [])]).toEqual([
      ['input_ids', [_, _]],
      ['encoder_hidden_states', [_, _, 128]],
    ]);
    expect(decoder?.outputs.get('logits')).toEqual([_, _, 28]);
    for (const l of [0, 1, 2])
      for (const kv of ['key', 'value'])
        expect(decoder?.outputs.get(`present.${l}.${kv}`)).toEqual([_, 4, _, 32]);
    expect(onnx('decoder_with_past_model')?.inputs.get('input_ids')).toEqual([_, 1]);
    const vision = onnx('vision_model');
    expect(vision?.inputs.get('pixel_values')).toEqual([_, 3, 64, 64]);
    expect(vision?.outputs.get('last_hidden_state')).toEqual([_, 65, 128]);
  });

  it('is undefined for bytes that are not a model, and never throws', () => {
    expect(graphIo(new Uint8Array([0xff, 0xff, 0xff]))).toBeUndefined();
    expect(graphIo(new Uint8Array(0))).toBeUndefined();
    expect(graphIo(new TextEncoder().encode('{"not": "onnx"}'))).toBeUndefined();
  });
});

describe('captionLimits', () => {
  it('blip-tiny: 32 tokens; one beam holds 2·4·(65·128 + 6·4·32·32 + 28) bytes, so 254 beams fit in 64 MiB', () => {
    const perBeam = 2 * 4 * (65 * 128 + 6 * 4 * 32 * 32 + 28);
    expect(perBeam).toBe(263_392);
    expect(bytesPerBeam(onnx('vision_model'), onnx('decoder_model'), 32)).toBe(perBeam);
    expect(captionLimits(32, onnx('vision_model'), onnx('decoder_model'))).toEqual({
      maxTokens: 32,
      maxBeams: Math.floor(BEAM_MEMORY_BYTES / perBeam),
    });
    expect(Math.floor(BEAM_MEMORY_BYTES / perBeam)).toBe(254);
  });

  it('a decoder whose cache shape is symbolic gets the small fixed bound', () => {
    const decoder = {
      inputs: new Map(),
      outputs: new Map([
        ['logits', [_, _, 28]],
        ['present.0.key', [_, _, _, 32]],
      ]),
      elementTypes: new Map(),
    };
    expect(captionLimits(32, onnx('vision_model'), decoder).maxBeams).toBe(MAX_BEAMS_UNSIZED);
    expect(captionLimits(32, undefined, undefined).maxBeams).toBe(MAX_BEAMS_UNSIZED);
  });
});
