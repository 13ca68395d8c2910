// One answer to "is this WebGPU adapter a software rasterizer?" for everything that adapts to it: `auto`
// prefers wasm there, our kernels take barrier-free variants, the index search uses one workgroup.
const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|software|basic render|warp/i;

type AdapterInfoLike = Partial<Pick<GPUAdapterInfo, 'vendor' | 'architecture' | 'description'>> & {
  isFallbackAdapter?: boolean;
};

/** SwiftShader, llvmpipe, WARP…: flagged as a fallback adapter, or named so. */
export function isSoftwareAdapterInfo(info: AdapterInfoLike | undefined): boolean {
  if (!info) return false;
  const text = `${info.vendor ?? ''} ${info.architecture ?? ''} ${info.description ?? ''}`;
  return info.isFallbackAdapter === true || SOFTWARE.test(text);
}

export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return legacy || isSoftwareAdapterInfo(adapter.info);
}

/** For a device whose adapter is no longer at hand (Chrome exposes GPUDevice.adapterInfo). */
export function isSoftwareDevice(device: GPUDevice): boolean {
  return isSoftwareAdapterInfo((device as GPUDevice & { adapterInfo?: AdapterInfoLike }).adapterInfo);
}
