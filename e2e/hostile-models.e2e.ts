import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

let browser: BrowserSession;
beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/reliability.html');
});
afterAll(async () => browser?.close());

// UNSUPPORTED_MODEL: a flip can turn a data type into a valid ONNX type our engine cannot hold (e.g. complex64).
const TYPED = ['INVALID_MODEL', 'UNSUPPORTED_OP', 'UNSUPPORTED_MODEL', 'INVALID_INPUT'];

describe('hostile model files', () => {
  for (const backend of ['wasm', 'ort-webgpu', 'webgpu'] as const) {
    it(`${backend}: every broken model gives a typed error in bounded time, and the backend keeps serving`, async () => {
      const { outcomes, afterwards, liveBefore, gpu } = await browser.page.evaluate(
        (b) => window.webvlReliability.runHostile(b, 20_000),
        backend,
      );
      for (const o of outcomes) console.log(`${backend} · ${o.name}: ${o.outcome} (${o.ms.toFixed(0)} ms)`);
      expect(outcomes.length).toBeGreaterThan(20);
      for (const o of outcomes) {
        // Bit flips may leave a model that still loads and runs: that is allowed, anything untyped is not.
        const allowed = o.name.includes('bit flips') ? [...TYPED, 'ran'] : TYPED;
        expect(allowed, `${o.name} → ${o.outcome}`).toContain(o.outcome);
      }
      expect(afterwards.maxAbs).toBeLessThanOrEqual(1e-4);
      if (backend === 'webgpu') {
        // Our engine: every session released, so no pooled buffer is in use, and the only GPU buffers still
        // alive on the page are the ones the pool keeps for reuse.
        console.log(`webgpu buffers: ${liveBefore} before, ${JSON.stringify(gpu)} after the corpus`);
        expect(gpu).toBeDefined();
        expect(gpu?.poolInUse).toBe(0);
        expect(gpu?.live).toBe(liveBefore + (gpu?.poolIdle ?? Number.NaN));
      }
    });
  }
});
