import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';
import type { GpuProbe } from './pages/gpu-probe';

let browser: BrowserSession;

beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/harness.html');
});
afterAll(async () => browser?.close());

function expectRealAdapter(probe: GpuProbe, where: string): void {
  // Fail loudly, never skip: without an adapter every WebGPU test below would be meaningless.
  if (!probe.hasNavigatorGpu)
    throw new Error(`${where}: navigator.gpu is missing (is --enable-unsafe-webgpu set?)`);
  if (!probe.adapter) throw new Error(`${where}: navigator.gpu.requestAdapter() returned null`);
  expect(probe.deviceOk, `${where}: GPU buffer round trip`).toBe(true);
}

describe('browser harness', () => {
  it('page is cross-origin isolated (COOP/COEP), so ORT wasm threads work', async () => {
    expect(await browser.page.evaluate(() => window.webvlTest.crossOriginIsolated())).toBe(true);
  });

  it('gives a WebGPU adapter in the page', async () => {
    const probe = await browser.page.evaluate(() => window.webvlTest.probePage());
    expectRealAdapter(probe, 'page');
    console.log(`page adapter: ${JSON.stringify(probe.adapter)}`);
  });

  it('gives a WebGPU adapter in a module worker', async () => {
    const probe = await browser.page.evaluate(() => window.webvlTest.probeWorker());
    expectRealAdapter(probe, 'worker');
  });
});

describe('onnxruntime-web backend on the transformer-block fixture (NumPy reference)', () => {
  for (const backend of ['wasm', 'ort-webgpu'] as const) {
    it(`${backend}: max abs error <= 1e-4`, async () => {
      const result = await browser.page.evaluate(
        (b) => window.webvlTest.runFixture('transformer-block', b),
        backend,
      );
      console.log(`${backend}: ${JSON.stringify(result)}`);
      expect(result.y.maxAbs).toBeLessThanOrEqual(1e-4);
    });
  }
});
