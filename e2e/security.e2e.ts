// The built demo under the strict Content-Security-Policy that `vite preview` sends: classify, caption and
// search must run with no CSP violation, no console error, and no request leaving the page's origin (page and
// worker requests alike, seen at the browser context).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY } from '../vite.config';
import { type BrowserSession, launch } from './browser';
import { type DevServer, startBuiltDemo } from './server';

let browser: BrowserSession;
let server: DevServer;
let origin: string;
const galleryColour = (
  JSON.parse(readFileSync('models/data/gallery/captions.jsonl', 'utf8').split('\n')[0]) as {
    objects: { colour: string }[];
  }
).objects[0].colour;

beforeAll(async () => {
  server = await startBuiltDemo();
  origin = new URL(server.url).origin;
  browser = await launch();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('security: the built demo under its CSP', () => {
  it('classify, caption and search run with no CSP violation, no console error, no off-origin request', async () => {
    const { page, context } = browser;
    const requests: string[] = [];
    const consoleErrors: string[] = [];
    context.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    // Every securitypolicyviolation in the page, recorded before any of its scripts run.
    await page.addInitScript(() => {
      const w = window as unknown as { cspViolations: string[] };
      w.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        w.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`);
      });
    });

    const response = await page.goto(`${origin}/?backend=wasm&gallery=200`);
    // The test means nothing unless the page really is served with the strict policy.
    expect(response?.headers()['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    await page.waitForSelector('#status[data-ready="true"]', { timeout: 120_000 });

    await page.click('#tab-classify');
    await page.click('#classify-run');
    await page.waitForSelector('#classify-out[data-top]', { timeout: 60_000 });
    const top = await page.$eval('#classify-out', (el) => (el as HTMLElement).dataset.top ?? '');
    // The demo classifies the first gallery scene: its colour is among the top label's words.
    expect(top.split(' ')).toContain(galleryColour);

    await page.click('#tab-caption');
    await page.click('#caption-run');
    await page.waitForFunction(() => !!document.getElementById('caption-out')?.dataset.done, null, {
      timeout: 60_000,
    });
    expect(
      (await page.$eval('#caption-out', (el) => (el as HTMLElement).dataset.done ?? '')).length,
    ).toBeGreaterThan(0);

    await page.click('#tab-search');
    await page.click('#index-build');
    await page.waitForSelector('#index-status[data-size="200"]', { timeout: 180_000 });
    await page.fill('#query', 'a large red circle');
    await page.click('#search-run');
    await page.waitForSelector('#search-out .hit', { timeout: 60_000 });
    expect(await page.$$eval('#search-out .hit', (els) => els.length)).toBe(8);

    const violations = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    );
    const offOrigin = requests.filter((u) => {
      const p = new URL(u);
      return !(p.origin === origin || p.protocol === 'data:' || p.protocol === 'blob:');
    });
    console.log(
      `security: ${requests.length} requests (${new Set(requests.map((u) => new URL(u).origin)).size} origin), ` +
        `${violations.length} CSP violations, ${consoleErrors.length} console errors`,
    );
    expect(violations).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(offOrigin).toEqual([]);
    expect(requests.some((u) => u.includes('/models/'))).toBe(true);
    // Worker scripts were requested from our origin too (the runtime worker and onnxruntime-web's files).
    expect(requests.some((u) => u.includes('/ort/') || u.includes('ort-wasm'))).toBe(true);

    // Positive control: an off-origin image load is seen by both listeners — the CSP blocks it (a violation
    // event) and the browser context still reports the attempted request, so any off-origin attempt during
    // the demo run above would have been caught by one or both assertions.
    const before = requests.length;
    await page.evaluate(() => {
      const img = new Image();
      img.src = 'https://example.invalid/pixel.png';
      document.body.append(img);
    });
    await page.waitForFunction(
      () => (window as unknown as { cspViolations: string[] }).cspViolations.length > 0,
      null,
      { timeout: 10_000 },
    );
    const control = await page.evaluate(
      () => (window as unknown as { cspViolations: string[] }).cspViolations,
    );
    expect(control).toEqual(['img-src https://example.invalid/pixel.png']);
    expect(requests.slice(before)).toContain('https://example.invalid/pixel.png');
  });
});
