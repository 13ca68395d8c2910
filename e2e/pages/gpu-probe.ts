// What a page or worker sees of WebGPU; used by the harness to fail loudly when there is no adapter.
export interface GpuProbe {
  hasNavigatorGpu: boolean;
  adapter: null | {
    vendor: string;
    architecture: string;
    description: string;
    isFallbackAdapter: boolean;
    features: string[];
    maxComputeInvocationsPerWorkgroup: number;
  };
  deviceOk: boolean;
}

export async function probeGpu(): Promise<GpuProbe> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { hasNavigatorGpu: false, adapter: null, deviceOk: false };
  const adapter = await gpu.requestAdapter();
  if (!adapter) return { hasNavigatorGpu: true, adapter: null, deviceOk: false };
  const info = adapter.info;
  const device = await adapter.requestDevice();
  // A real round trip: write, copy, read back.
  const src = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  new Uint32Array(src.getMappedRange()).set([1, 2, 3, 4]);
  src.unmap();
  const dst = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, 0, dst, 0, 16);
  device.queue.submit([enc.finish()]);
  await dst.mapAsync(GPUMapMode.READ);
  const back = Array.from(new Uint32Array(dst.getMappedRange()));
  device.destroy();
  return {
    hasNavigatorGpu: true,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      description: info.description,
      isFallbackAdapter:
        (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
      features: [...adapter.features],
      maxComputeInvocationsPerWorkgroup: adapter.limits.maxComputeInvocationsPerWorkgroup,
    },
    deviceOk: back.join(',') === '1,2,3,4',
  };
}
