import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Backend, BackendName, Session } from '../../src/engine/backend';
import { BackendSelector, decideBackend } from '../../src/engine/select';
import { type HostTensor, hostTensor } from '../../src/engine/tensor';
import { WebvlError } from '../../src/errors';

const adapter = (vendor: string, architecture: string, software = false) => ({
  webgpu: true,
  adapter: { vendor, architecture, description: '', software },
});

describe('decideBackend', () => {
  it('auto: no WebGPU → wasm', () => {
    expect(decideBackend('auto', { webgpu: false }).name).toBe('wasm');
  });
  it('auto: software adapter → wasm, with the adapter named in the reason', () => {
    const d = decideBackend('auto', adapter('google', 'swiftshader', true));
    expect(d.name).toBe('wasm');
    expect(d.reason).toContain('swiftshader');
  });
  it('auto: hardware adapter → our engine', () => {
    expect(decideBackend('auto', adapter('nvidia', 'hopper')).name).toBe('webgpu');
  });
  it('an explicit choice is honoured, but a WebGPU backend without WebGPU is NO_WEBGPU', () => {
    expect(decideBackend('ort-webgpu', adapter('google', 'swiftshader', true)).name).toBe('ort-webgpu');
    expect(decideBackend('wasm', { webgpu: false }).name).toBe('wasm');
    try {
      decideBackend('webgpu', { webgpu: false });
      expect.unreachable();
    } catch (e) {
      expect((e as WebvlError).code).toBe('NO_WEBGPU');
    }
  });
});

describe('BackendSelector per-model fallback', () => {
  // Fake backends: 'webgpu' refuses graphs whose first byte is 1 at load, and 2 at run; ORT runs anything.
  function fakeBackend(name: BackendName): Backend {
    return {
      name,
      describe: () => name,
      async load(model: Uint8Array): Promise<Session> {
        if (name === 'webgpu' && model[0] === 1) throw new WebvlError('UNSUPPORTED_OP', 'op Foo');
        return {
          inputNames: ['x'],
          outputNames: ['y'],
          async run() {
            if (name === 'webgpu' && model[0] === 2) throw new WebvlError('UNSUPPORTED_OP', 'kernel Bar');
            return { y: hostTensor('float32', [1], [name === 'webgpu' ? 1 : 2]) };
          },
          lastRunStats: () => undefined,
          release: async () => undefined,
        };
      },
    };
  }
  const hw = { name: 'webgpu' as const, reason: 'hardware adapter' };
  const run = async (s: Session) => ((await s.run({})).y as HostTensor).data[0];

  it('auto: a graph refused at load or at its first run moves to ORT webgpu, with the reason recorded', async () => {
    const sel = new BackendSelector(hw, true, async (n) => fakeBackend(n));
    const ok = await sel.load(new Uint8Array([0]), { label: 'vision' });
    const refusedAtLoad = await sel.load(new Uint8Array([1]), { label: 'text' });
    const refusedAtRun = await sel.load(new Uint8Array([2]), { label: 'itm' });
    expect(await run(ok)).toBe(1);
    expect(await run(refusedAtLoad)).toBe(2);
    expect(await run(refusedAtRun)).toBe(2);
    expect(await run(refusedAtRun)).toBe(2);
    const where = Object.fromEntries(sel.placements.map((p) => [p.label, p.backend]));
    expect(where).toEqual({ vision: 'webgpu', text: 'ort-webgpu', itm: 'ort-webgpu' });
    expect(sel.placements.find((p) => p.label === 'itm')?.reason).toContain('kernel Bar');
  });

  it('auto: a float16 graph it hands on goes to wasm where the adapter has no shader-f16 (ORT webgpu needs it)', async () => {
    const refusing = (name: BackendName): Backend => {
      const b = fakeBackend(name);
      return name === 'webgpu'
        ? { ...b, load: async () => Promise.reject(new WebvlError('UNSUPPORTED_OP', 'op Foo')) }
        : b;
    };
    const half = new Uint8Array(readFileSync('tests/corpus/llava-random/onnx/embed_tokens_fp16.onnx'));
    const full = new Uint8Array(readFileSync('tests/corpus/llava-random/onnx/embed_tokens.onnx'));
    const noF16 = new BackendSelector(hw, true, async (n) => refusing(n), true, false);
    await noF16.load(half, { label: 'half' });
    await noF16.load(full, { label: 'full' });
    const withF16 = new BackendSelector(hw, true, async (n) => refusing(n), true, true);
    await withF16.load(half, { label: 'half' });
    const where = (sel: BackendSelector) =>
      Object.fromEntries(sel.placements.map((p) => [p.label, p.backend]));
    expect(where(noF16)).toEqual({ half: 'wasm', full: 'ort-webgpu' });
    expect(noF16.placements[0].reason).toMatch(
      /op Foo → onnxruntime-web wasm \(the graph computes in float16 .*shader-f16/,
    );
    expect(where(withF16)).toEqual({ half: 'ort-webgpu' });
  });

  it('an explicit webgpu choice never falls back silently', async () => {
    const sel = new BackendSelector({ name: 'webgpu', reason: 'requested' }, false, async (n) =>
      fakeBackend(n),
    );
    await expect(sel.load(new Uint8Array([1]), { label: 'text' })).rejects.toThrow('op Foo');
    const s = await sel.load(new Uint8Array([2]), { label: 'itm' });
    await expect(s.run({})).rejects.toThrow('kernel Bar');
  });
});
