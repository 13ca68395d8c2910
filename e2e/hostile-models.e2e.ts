import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

let browser: BrowserSession;
beforeAll(async () => {
  browser = await launch();
  await openPage(browser.page, inject('baseUrl'), 'e2e/pages/reliability.html');
});
afterAll(async () => browser?.close());

const TYPED = ['INVALID_MODEL', 'UNSUPPORTED_OP', 'INVALID_INPUT'];

describe('hostile model files', () => {
  for (const backend of ['wasm', 'ort-webgpu'] as const) {
    it(`${backend}: every broken model gives a typed error in bounded time, and the backend keeps serving`, async () => {
      const { outcomes, afterwards } = await browser.page.evaluate(
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
    });
  }
});
