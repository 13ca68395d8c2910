// The npm package in someone else's app, as a newcomer would use it: `npm pack` (prepack builds the library),
// a fresh copy of examples/vite-app outside this repository's build, the tarball installed into it, then the
// app's own `tsc --noEmit` (skipLibCheck false) and `vite build`. The built app runs in Chromium, served with no
// special headers (so wasm runs single-threaded) and again cross-origin isolated; its load + classify + caption
// results must equal those of the runtime built from this repository's source.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type PreviewServer, preview } from 'vite';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type BrowserSession, launch, openPage } from './browser';

const ROOT = resolve(import.meta.dirname, '..');
// What examples/vite-app/src/main.ts asks; the in-repo runtime is asked the same.
const MODEL = '/models/blip-tiny/';
const IMAGE = 'models/data/gallery/00002.png'; // examples/vite-app/public/scene.png is a copy
const TEMPLATE = 'a large {}';

interface ExampleResult {
  labels: { label: string; probability: number; cosine?: number }[];
  caption: string;
}

let work: string;
let app: string;
let tarball: string;

function run(cmd: string, args: string[], cwd: string): string {
  // npm warns about this repository's .npmrc key on every call; only failures matter here.
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'webvl-example-'));
  // prepack builds the library first (and fails if the API report is stale).
  run('npm', ['pack', '--pack-destination', work], ROOT);
  const { name, version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  tarball = join(work, `${name}-${version}.tgz`);
  app = join(work, 'vite-app');
  cpSync(join(ROOT, 'examples/vite-app'), app, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|dist)$/.test(src),
  });
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  pkg.dependencies.webvl = `file:${tarball}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  // The app serves the model folder itself, as the example's README says to.
  cpSync(join(ROOT, 'models/blip-tiny'), join(app, 'public/models/blip-tiny'), { recursive: true });
  // vite and typescript: the versions this repository's lockfile installed, so npm's cache already has them.
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], app);
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('examples/vite-app against the packed tarball', () => {
  it('the tarball holds the library, its self-contained worker, onnxruntime-web’s one binary, the types and the bin', () => {
    const files = run('tar', ['-tzf', tarball], work).trim().split('\n').sort();
    expect(files).toEqual(
      [
        'package/README.md',
        'package/package.json',
        'package/dist/webvl.d.ts',
        'package/dist/lib/webvl.js',
        'package/dist/lib/webvl.licenses.txt',
        'package/dist/lib/webvl.worker.js',
        'package/dist/lib/webvl.worker.licenses.txt',
        'package/dist/lib/ort-wasm-simd-threaded.asyncify.wasm',
        // npx webvl manifest DIR
        'package/bin/webvl.mjs',
        'package/bin/manifest.mjs',
        'package/bin/manifest.d.mts',
      ].sort(),
    );
    const installed = JSON.parse(readFileSync(join(app, 'node_modules/webvl/package.json'), 'utf8'));
    expect(Object.keys(installed.dependencies)).toEqual(['@webgpu/types']);
    // The worker has no imports left for a bundler to resolve.
    const worker = readFileSync(join(app, 'node_modules/webvl/dist/lib/webvl.worker.js'), 'utf8');
    expect(worker).not.toMatch(/^\s*import\s.*from\s/m);
  });

  it('type-checks with skipLibCheck false', () => {
    const tsconfig = JSON.parse(readFileSync(join(app, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions.skipLibCheck).toBe(false);
    // Throws (with tsc's messages) on any error.
    run(join(app, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], app);
  });

  it('vite build emits the worker and the onnxruntime-web binary as the app’s own assets', () => {
    run(join(app, 'node_modules/.bin/vite'), ['build'], app);
    const assets = readdirSync(join(app, 'dist/assets'));
    expect(assets.filter((f) => /^webvl\.worker-.*\.js$/.test(f))).toHaveLength(1);
    expect(assets.filter((f) => /^ort-wasm-simd-threaded\.asyncify-.*\.wasm$/.test(f))).toHaveLength(1);
    expect(assets.filter((f) => f.endsWith('.wasm'))).toHaveLength(1);
  });

  describe('in Chromium', () => {
    let browser: BrowserSession;
    let reference: ExampleResult;

    beforeAll(async () => {
      browser = await launch();
      // The in-repo runtime (built from src/ by the dev server), asked what the example asks.
      const page = await browser.context.newPage();
      await openPage(page, inject('baseUrl'), 'e2e/pages/runtime.html');
      reference = await page.evaluate(
        async ([model, image, template]) => {
          await window.rtTest.create('wasm');
          await window.rtTest.load(model);
          const labels = ['red circle', 'blue circle', 'blue square', 'green star'];
          const scores = await window.rtTest.classify(`/${image}`, labels, template);
          const { text } = await window.rtTest.caption(`/${image}`);
          window.rtTest.dispose();
          return { labels: scores, caption: text };
        },
        [MODEL, IMAGE, TEMPLATE] as const,
      );
      await page.close();
    }, 180_000);
    afterAll(async () => browser?.close());

    /** Opens the app and reads what it printed: the result as JSON, and its log. */
    async function openApp(port: number): Promise<{ result: ExampleResult; log: string }> {
      const page = await browser.context.newPage();
      try {
        await page.goto(`http://127.0.0.1:${port}/`);
        await page.waitForFunction(() => !!document.getElementById('result')?.textContent, null, {
          timeout: 120_000,
        });
        const result = JSON.parse((await page.textContent('#result')) ?? '{}') as ExampleResult;
        return { result, log: (await page.textContent('#log')) ?? '' };
      } finally {
        await page.close();
      }
    }

    /** The built app under `vite preview` (the app has no Vite config), with the given response headers. */
    async function runBuiltApp(
      headers: Record<string, string>,
    ): Promise<{ result: ExampleResult; log: string }> {
      const server: PreviewServer = await preview({
        root: app,
        configFile: false,
        logLevel: 'warn',
        preview: { port: 0, host: '127.0.0.1', headers },
      });
      try {
        const address = server.httpServer.address();
        if (!address || typeof address === 'string') throw new Error('preview server has no port');
        return await openApp(address.port);
      } finally {
        await new Promise<void>((r) => server.httpServer.close(() => r()));
      }
    }

    it('no COOP/COEP headers: runs single-threaded, says so, and equals the in-repo runtime', async () => {
      const { result, log } = await runBuiltApp({});
      expect(reference.labels[0].label).toBe('blue circle'); // the scene: a large blue circle
      expect(result.caption).toBe(reference.caption);
      expect(result.labels.map((l) => l.label)).toEqual(reference.labels.map((l) => l.label));
      // Same graphs, same inputs, same backend; only the thread count differs (4 in the repo's isolated page).
      result.labels.forEach((l, i) => {
        expect(l.probability).toBeCloseTo(reference.labels[i].probability, 6);
        expect(l.cosine).toBeCloseTo(reference.labels[i].cosine ?? Number.NaN, 6);
      });
      expect(log).toContain('backend wasm');
      expect(log).toContain('wasm runs single-threaded');
      expect(log).toContain('typed error: EMPTY_LABELS');
      for (const stage of ['downloading', 'verifying', 'compiling', 'warming-up'])
        expect(log).toContain(`${stage}:`);
    });

    it('cross-origin isolated: onnxruntime-web starts its wasm threads from the bundled worker, same results', async () => {
      const { result, log } = await runBuiltApp({
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
      });
      expect(log).toMatch(/cross-origin isolated: [2-9]\d* wasm threads/);
      expect(result.caption).toBe(reference.caption);
      result.labels.forEach((l, i) => {
        expect(l.label).toBe(reference.labels[i].label);
        expect(l.probability).toBeCloseTo(reference.labels[i].probability, 6);
      });
    });

    it('`npm run dev` (the Vite dev server, dependency pre-bundling and all) serves a working app too', async () => {
      const server = await createServer({
        root: app,
        configFile: false,
        logLevel: 'warn',
        server: { port: 0, host: '127.0.0.1', hmr: false, watch: null },
      });
      await server.listen();
      try {
        const address = server.httpServer?.address();
        if (!address || typeof address === 'string') throw new Error('dev server has no port');
        const { result } = await openApp(address.port);
        expect(result.caption).toBe(reference.caption);
        expect(result.labels.map((l) => l.label)).toEqual(reference.labels.map((l) => l.label));
      } finally {
        await server.close();
      }
    });
  });
});

describe('README', () => {
  it('its "Use" section is exactly the example app’s code', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.split(/^## Use\n/m)[1]?.split(/^## /m)[0] ?? '';
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(readFileSync(join(ROOT, 'examples/vite-app/src/main.ts'), 'utf8'));
  });
});
