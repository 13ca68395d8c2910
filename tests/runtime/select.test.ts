import { describe, expect, it } from 'vitest';
import { decideBackend } from '../../src/engine/select';
import type { WebvlError } from '../../src/errors';

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
