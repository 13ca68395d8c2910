// The transformer-block fixture through the whole engine in Node (SwiftShader), once with the kernels' default
// variants and once with their software-adapter (barrier-free) variants: both match NumPy. Attention: the wide
// kernel for a small grid on hardware, the tiled one in software.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '../../../src/engine/tensor';
import { WebGpuBackend } from '../../../src/engine/webgpu/backend';
import { nodeGpu } from './gpu';

interface JsonTensor {
  dtype: string;
  dims: number[];
  data: number[];
}

const ref = JSON.parse(readFileSync('e2e/fixtures/transformer-block/reference.json', 'utf8')) as Record<
  string,
  Record<string, JsonTensor>
>;
const model = readFileSync('e2e/fixtures/transformer-block/model.onnx');
const feeds = {
  x: hostTensor('float32', ref.inputs.x.dims, ref.inputs.x.data),
  attention_mask: hostTensor('int64', ref.inputs.attention_mask.dims, ref.inputs.attention_mask.data),
};
const backends: WebGpuBackend[] = [];
afterAll(async () => {
  for (const b of backends) (await b.engineDevice()).device.destroy();
});

describe('kernel choice', () => {
  for (const software of [false, true]) {
    it(`softwareAdapter=${software}: ${software ? 'barrier-free' : 'tiled/workgroup'} matmul and layer norm, same result`, async () => {
      const backend = new WebGpuBackend({ gpu: nodeGpu(), softwareAdapter: software });
      backends.push(backend);
      const session = await backend.load(model);
      const y = (await session.run(feeds)).y as HostTensor;
      let maxAbs = 0;
      (y.data as Float32Array).forEach((v, i) => {
        maxAbs = Math.max(maxAbs, Math.abs(v - ref.outputs.y.data[i]));
      });
      expect(maxAbs).toBeLessThan(1e-5);
      const keys = session.describePlan()?.programKeys ?? [];
      expect(keys.some((k) => k.startsWith('matmul|direct|'))).toBe(software);
      expect(keys.some((k) => /^matmul\|(vec4|scalar|gemv)\|b32$/.test(k))).toBe(!software);
      expect(keys.some((k) => /^layernorm\|\w+\|true$/.test(k))).toBe(software);
      expect(keys.some((k) => /^layernorm\|\w+\|false$/.test(k))).toBe(!software);
      // A grid this small (b2 × 7 queries) takes the wide attention kernel on hardware, the tiled one in software.
      expect(keys.some((k) => k.startsWith('attention-wide|'))).toBe(!software);
      expect(keys.some((k) => k.startsWith('attention|'))).toBe(software);
      await session.release();
    });
  }
});
