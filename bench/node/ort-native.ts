// onnxruntime's native CPU provider (onnxruntime-node) behind webvl's Session interface, as one more engine of
// the Node benchmark. Optional: where the package or its binary is missing, the engine is simply absent.
import type { RunStats, Session } from '../../src/engine/backend';
import type { DType, HostTensor, Tensor, TensorData } from '../../src/engine/tensor';
import { toHost } from '../../src/engine/tensor';

type OrtNode = typeof import('onnxruntime-node');

let loaded: Promise<OrtNode | undefined> | undefined;

/** onnxruntime-node, or undefined where it cannot load (not installed, no binary for this platform). */
export function loadOrtNode(): Promise<OrtNode | undefined> {
  loaded ??= import('onnxruntime-node').then(
    (m) => (m as OrtNode & { default?: OrtNode }).default ?? m,
    () => undefined,
  );
  return loaded;
}

export async function ortNativeSession(bytes: Uint8Array, threads: number): Promise<Session | undefined> {
  const ort = await loadOrtNode();
  if (!ort) return undefined;
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: 'all',
  });
  let stats: RunStats | undefined;
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: Readonly<Record<string, Tensor>>) {
      const inputs: Record<string, InstanceType<OrtNode['Tensor']>> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const h = await toHost(t);
        inputs[name] = new ort.Tensor(h.dtype, h.data as Float32Array, [...h.dims]);
      }
      const out = await session.run(inputs);
      const result: Record<string, HostTensor> = {};
      let bytesRead = 0;
      for (const [name, t] of Object.entries(out)) {
        const data = t.data as TensorData;
        bytesRead += data.byteLength;
        result[name] = { location: 'cpu', dtype: t.type as DType, dims: [...t.dims], data };
      }
      stats = { bytesRead };
      return result;
    },
    lastRunStats: () => stats,
    release: () => session.release(),
  };
}
