import { probeGpu } from './gpu-probe';

self.onmessage = async () => {
  self.postMessage(await probeGpu());
};
