// Launches Debian's Chromium with SwiftShader WebGPU; never downloads a browser.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.WEBVL_CHROMIUM ?? '/usr/bin/chromium';

/** The flags WebGPU needs in headless Chromium here (SwiftShader adapter), plus quiet networking. */
export const WEBGPU_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launch(extraArgs: string[] = []): Promise<BrowserSession> {
  const dir = mkdtempSync(join(tmpdir(), 'webvl-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...WEBGPU_FLAGS, ...extraArgs],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (m) => {
    // 404s are expected (probing for optional files); everything else that is an error gets printed.
    const expected404 = m
      .text()
      .startsWith('Failed to load resource: the server responded with a status of 404');
    if ((m.type() === 'error' && !expected404) || process.env.WEBVL_DEBUG)
      console.log(`[page:${m.type()}] ${m.text()}`);
  });
  page.on('pageerror', (e) => console.log(`[pageerror] ${e.message}`));
  return {
    context,
    page,
    async close() {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens an e2e page and waits until it has set `window.webvlReady`. */
export async function openPage(page: Page, baseUrl: string, path: string): Promise<void> {
  await page.goto(new URL(path, baseUrl).href);
  await page.waitForFunction(
    () => (window as unknown as { webvlReady?: boolean }).webvlReady === true,
    null,
    {
      timeout: 60_000,
    },
  );
}
