// A WebGPU entry point for Node tests: the `webgpu` package (Dawn) on SwiftShader's Vulkan.
// Needs LD_LIBRARY_PATH=/usr/lib/chromium and VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.
import { create, globals } from 'webgpu';

let gpu: GPU | undefined;

export function nodeGpu(): GPU {
  if (!gpu) {
    Object.assign(globalThis, globals);
    gpu = create([]) as GPU;
  }
  return gpu;
}
