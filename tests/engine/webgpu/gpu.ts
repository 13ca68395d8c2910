// A WebGPU entry point for Node tests: the `webgpu` package (Dawn) on SwiftShader's Vulkan.
// The Vulkan loader reads VK_ICD_FILENAMES when the adapter is requested, so setting it here is enough.
import { create, globals } from 'webgpu';

process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpu: GPU | undefined;

export function nodeGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}
