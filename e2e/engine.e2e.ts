// Our WebGPU engine in Chromium (SwiftShader WebGPU) on the ONNX fixtures, against the NumPy references
// written by scripts/make_fixtures.py and against onnxruntime-web (wasm); and on the op-forms corpus against
// onnxruntime-node.
import { readdirSync, readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { relativeDiff } from '../bench/stats';
import type { HostTensor } from '../src/engine/tensor';
import {
  attentionFeeds,
  definedRows,
  GQA_GRAPHS,
  GQA_STEPS,
  MHA_CASES,
  PACKED_ATTENTION_CASES,
} from '../tests/support/attention-steps';
import { contribFeeds, opFormFeeds, recurrentFeeds } from '../tests/support/corpus-feeds';
import { type BrowserSession, launch, openPage } from './browser';
import type { BenchResult, FixtureResult, ModelResult, PlainTensor } from './pages/engine';

let browser: BrowserSession;

beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/engine.html');
});
afterAll(async () => browser?.close());

function run(name: string): Promise<FixtureResult> {
  return browser.page.evaluate((n) => window.webvlEngine.runFixture(n), name);
}

function expectClose(result: FixtureResult, name: string): void {
  for (const [output, d] of Object.entries(result.outputs)) {
    console.log(`${name}/${output}: ${JSON.stringify(d)}`);
    expect(d.oursVsRef.relToMax, `${output} vs NumPy`).toBeLessThanOrEqual(1e-4);
    expect(d.oursVsOrt.relToMax, `${output} vs ORT wasm`).toBeLessThanOrEqual(1e-4);
  }
}

describe('our WebGPU engine on the fixtures', () => {
  it('transformer-block: matches NumPy and ORT wasm, attention/LayerNorm/GELU/Linear fused', async () => {
    const r = await run('transformer-block');
    console.log(
      `transformer-block plan: ${JSON.stringify({ ...r.plan, steps: undefined })} ms ${r.msFirst} / ${r.msSecond}`,
    );
    expectClose(r, 'transformer-block');
    const ops = r.plan?.opCounts ?? {};
    expect(ops['webvl:Attention']).toBe(1);
    expect(ops['webvl:LayerNorm']).toBe(2);
    // q, k, v merged into one; out; ffn-in (+GELU epilogue); ffn-out.
    expect(ops['webvl:Linear']).toBe(4);
    expect(r.plan?.passes.mergedProjections).toBe(2);
    expect(ops.Softmax).toBeUndefined();
    expect(ops.MatMul).toBeUndefined();
    // 2 LN (the second adds the residual itself) + 4 Linear + 1 attention + 1 residual Add
    // + 3 mask ops (Cast, Sub, Mul) = 11 (the unfused graph has 46 nodes).
    expect(r.dispatches).toBe(11);
    expect(r.secondRunDispatches).toBe(11);
    expect(r.bytesRead).toBe(2 * 7 * 32 * 4);
  });

  it('cross-attention-block: 5 queries over 9 keys with key padding, Tanh GELU fused', async () => {
    const r = await run('cross-attention-block');
    expectClose(r, 'cross-attention-block');
    expect(r.plan?.opCounts['webvl:Attention']).toBe(1);
    expect(r.plan?.opCounts.Softmax).toBeUndefined();
    expect(r.plan?.passes.gelu).toBe(1);
  });

  it('decoder-step: past key/values concatenated, causal mask folded from shapes, present K/V out', async () => {
    const r = await run('decoder-step');
    expectClose(r, 'decoder-step');
    const ops = r.plan?.opCounts ?? {};
    expect(ops['webvl:Attention']).toBe(1);
    // The mask (Shape → ConstantOfShape → Trilu …) was folded on the CPU: none of it runs on the GPU.
    for (const op of ['Trilu', 'ConstantOfShape', 'Shape', 'Softmax']) expect(ops[op]).toBeUndefined();
  });

  it('tiny-vit: Conv patch embedding, CLS token from Shape/Expand, QuickGELU, CLS pooling', async () => {
    const r = await run('tiny-vit');
    expectClose(r, 'tiny-vit');
    expect(r.plan?.opCounts['webvl:Attention']).toBe(1);
    expect(r.plan?.opCounts.Conv).toBe(1);
    expect(r.plan?.passes.gelu).toBe(1);
  });
});

const past = (len: number) =>
  Object.fromEntries(
    [0, 1, 2].flatMap((l) => [
      [`past_key_values.${l}.key`, [2, 4, len, 32]],
      [`past_key_values.${l}.value`, [2, 4, len, 32]],
    ]),
  ) as Record<string, number[]>;

const MODELS: [string, Record<string, number[]>, number][] = [
  ['clip-tiny/onnx/vision_model.onnx', { pixel_values: [2, 3, 64, 64] }, 4],
  ['clip-tiny/onnx/text_model.onnx', { input_ids: [2, 9], attention_mask: [2, 9] }, 3],
  ['blip-tiny/onnx/vision_model.onnx', { pixel_values: [2, 3, 64, 64] }, 4],
  ['blip-tiny/onnx/text_model.onnx', { input_ids: [2, 9], attention_mask: [2, 9] }, 3],
  [
    'blip-tiny/onnx/itm_model.onnx',
    { input_ids: [2, 9], attention_mask: [2, 9], encoder_hidden_states: [2, 65, 128] },
    7,
  ],
  ['blip-tiny/onnx/decoder_model.onnx', { input_ids: [2, 5], encoder_hidden_states: [2, 65, 128] }, 6],
  [
    'blip-tiny/onnx/decoder_with_past_model.onnx',
    { input_ids: [2, 1], encoder_hidden_states: [2, 65, 128], ...past(5) },
    6,
  ],
];

describe('our WebGPU engine on the exported models vs ORT wasm', () => {
  for (const [path, dims, attentions] of MODELS) {
    it(`${path}: every output within 1e-4 of ORT wasm, ${attentions} fused attention nodes`, async () => {
      const r: ModelResult = await browser.page.evaluate(([p, d]) => window.webvlEngine.runModel(p, d), [
        path,
        dims,
      ] as const);
      console.log(
        `${path}: dispatches ${r.dispatches}, ours ${r.msOursWarm.toFixed(1)} ms, ORT wasm ${r.msOrt.toFixed(1)} ms, ` +
          `${JSON.stringify(r.outputs)}`,
      );
      for (const [output, d] of Object.entries(r.outputs)) {
        expect(d.relToMax, `${output} vs ORT wasm`).toBeLessThanOrEqual(1e-4);
      }
      expect(r.plan?.opCounts['webvl:Attention']).toBe(attentions);
      expect(r.plan?.opCounts.Softmax).toBeUndefined();
    });
  }
});

describe('ours vs ORT webgpu on the same page (SwiftShader: timings are informative, not asserted)', () => {
  for (const [path, dims] of [MODELS[0], MODELS[1], MODELS[4]]) {
    it(`${path}: same outputs as ORT webgpu, far fewer dispatches`, async () => {
      const r: BenchResult = await browser.page.evaluate(([p, d]) => window.webvlEngine.benchModel(p, d, 3), [
        path,
        dims,
      ] as const);
      console.log(`${path}: ${JSON.stringify(r)}`);
      for (const [output, d] of Object.entries(r.oursVsOrtWebgpu)) {
        expect(d.relToMax, `${output} vs ORT webgpu`).toBeLessThanOrEqual(1e-4);
      }
      // Counted at GPUComputePassEncoder.dispatchWorkgroups for both engines.
      expect(r.dispatches.ours).toBeLessThan(r.dispatches.ortWebgpu / 2);
    });
  }
});

// The graphs tests/engine/webgpu/op-forms.test.ts and contrib-ops.test.ts run in Node (Dawn), run here in the
// browser on the same inputs: every op form and contrib op the corpora hold (quantized weights, bfloat16,
// axis forms, fused normalizations, rotary, quantized tables) works the same in Chromium.
function plain(feeds: Record<string, HostTensor>): Record<string, PlainTensor> {
  return Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [
      k,
      {
        dtype: t.dtype === 'int64' || t.dtype === 'int32' ? t.dtype : 'float32',
        dims: [...t.dims],
        data: Array.from(t.data as ArrayLike<number | bigint>, Number),
      },
    ]),
  );
}

interface Comparison {
  /** Default: onnxruntime's own kernels, its fusions off (as the op-forms and contrib Node tests run it). */
  readonly optimized?: boolean;
  readonly tolerance?: number;
  /** The part of an output onnxruntime defines (attention: rows past a padded row's length are not). */
  readonly defined?: (name: string, data: Float32Array, width: number) => Float32Array;
}

async function expectLikeOnnxruntime(
  dir: string,
  file: string,
  feeds: Record<string, HostTensor>,
  how: Comparison = {},
) {
  const bytes = new Uint8Array(readFileSync(`tests/corpus/${dir}/${file}`));
  const inputs = plain(feeds);
  const ours = await browser.page.evaluate(([d, f, x]) => window.webvlEngine.runGraph(d, f, x), [
    dir,
    file,
    inputs,
  ] as const);
  const reference = await ort.InferenceSession.create(
    bytes,
    how.optimized ? {} : { graphOptimizationLevel: 'disabled' },
  );
  const theirs = await reference.run(
    Object.fromEntries(
      Object.entries(feeds).map(([k, t]) => [
        k,
        new ort.Tensor(
          t.dtype as 'float32' | 'int64' | 'int32',
          t.data as Float32Array | BigInt64Array | Int32Array,
          [...t.dims],
        ),
      ]),
    ),
  );
  await reference.release();
  expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
  const tolerance = how.tolerance ?? (file.includes('f16') ? 1e-3 : 1e-5);
  for (const [name, want] of Object.entries(theirs)) {
    expect(ours[name].dims, name).toEqual([...want.dims]);
    const expected = Array.from(want.data as ArrayLike<number | bigint>, Number);
    if (want.type === 'int64') {
      expect(ours[name].data, name).toEqual(expected);
      continue;
    }
    const width = Number(want.dims[want.dims.length - 1]);
    const defined = (x: ArrayLike<number>) =>
      how.defined ? how.defined(name, Float32Array.from(x), width) : Float32Array.from(x);
    expect(relativeDiff(defined(ours[name].data), defined(expected)), name).toBeLessThan(tolerance);
  }
}

const onnxFiles = (dir: string) => readdirSync(`tests/corpus/${dir}`).filter((f) => f.endsWith('.onnx'));

describe('corpus graphs in Chromium vs onnxruntime-node', () => {
  it.each(onnxFiles('ops'))('ops/%s', (file) =>
    expectLikeOnnxruntime('ops', file, opFormFeeds(readFileSync(`tests/corpus/ops/${file}`))),
  );
  it.each(onnxFiles('contrib'))('contrib/%s', (file) =>
    expectLikeOnnxruntime('contrib', file, contribFeeds(readFileSync(`tests/corpus/contrib/${file}`))),
  );
  it.each(onnxFiles('opset23'))('opset23/%s', (file) =>
    expectLikeOnnxruntime('opset23', file, contribFeeds(readFileSync(`tests/corpus/opset23/${file}`))),
  );
  // Hybrid decoders' recurrent ops (linear-attention.test.ts): a 6-token prompt and one token, from random states.
  it.each(onnxFiles('linear-attention'))('linear-attention/%s', async (file) => {
    const bytes = readFileSync(`tests/corpus/linear-attention/${file}`);
    await expectLikeOnnxruntime('linear-attention', file, recurrentFeeds(bytes, 6, 10), { tolerance: 1e-4 });
    await expectLikeOnnxruntime('linear-attention', file, recurrentFeeds(bytes, 1, 30), { tolerance: 1e-4 });
  });
  // The attention graphs step by step, as contrib-attention.test.ts runs them (onnxruntime as it ships).
  const attentionCases = [
    ...GQA_GRAPHS.flatMap((graph) => GQA_STEPS.map((step) => ({ graph, step }))),
    ...MHA_CASES,
    ...PACKED_ATTENTION_CASES,
  ];
  it.each(attentionCases)('contrib-attention/$graph: $step.name', ({ graph, step }) => {
    const file = `${graph}.onnx`;
    const feeds = attentionFeeds(readFileSync(`tests/corpus/contrib-attention/${file}`), step);
    return expectLikeOnnxruntime('contrib-attention', file, feeds, {
      optimized: true,
      tolerance: 1e-4,
      defined: (name, data, width) => (name === 'output' ? definedRows(data, step, width) : data),
    });
  });
});
