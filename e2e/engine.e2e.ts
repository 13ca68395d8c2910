// Our WebGPU engine in Chromium (SwiftShader WebGPU) on the ONNX fixtures, against the NumPy references
// written by scripts/make_fixtures.py and against onnxruntime-web (wasm).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';
import type { FixtureResult } from './pages/engine';

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
    expect(ops['webvl:Linear']).toBe(6); // q, k, v, out, ffn-in (+GELU epilogue), ffn-out
    expect(ops.Softmax).toBeUndefined();
    expect(ops.MatMul).toBeUndefined();
    // 2 LN (the second adds the residual itself) + 6 Linear + 1 attention + 1 residual Add
    // + 3 mask ops (Cast, Sub, Mul) = 13.
    expect(r.dispatches).toBe(13);
    expect(r.secondRunDispatches).toBe(13);
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
