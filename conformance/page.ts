// Conformance page: runs ONNX backend node tests through a Backend and reports pass / fail / unsupported.
import { onnx } from 'onnx-proto';
import type { Backend, BackendName } from '../src/engine/backend';
import { createBackend } from '../src/engine/select';
import { type HostTensor, toHost } from '../src/engine/tensor';
import { supportedOps } from '../src/engine/webgpu/plan/lowering';
import { isWebvlError } from '../src/errors';
import { allClose } from './compare';
import { decodeTensorProto } from './tensor-proto';

export type Status = 'pass' | 'fail' | 'unsupported';
export interface CaseResult {
  status: Status;
  ops: string[];
  dtype: string;
  reason?: string;
}

async function fetchBytes(url: string): Promise<Uint8Array | null> {
  const r = await fetch(url);
  return r.ok ? new Uint8Array(await r.arrayBuffer()) : null;
}

/** The test's input or output tensors; `declared`: the graph's element types for them, in order. */
async function loadSet(
  test: string,
  prefix: 'input' | 'output',
  declared: readonly (number | undefined)[],
): Promise<(HostTensor | null)[]> {
  const out: (HostTensor | null)[] = [];
  for (let i = 0; ; i++) {
    const bytes = await fetchBytes(`/onnx-node-tests/${test}/test_data_set_0/${prefix}_${i}.pb`);
    if (!bytes) return out;
    out.push(decodeTensorProto(bytes, declared[i]));
  }
}

// What a backend claims is what its load() accepts: an op or form it lacks is refused with UNSUPPORTED_OP.
async function runCase(backend: Backend, test: string): Promise<CaseResult> {
  const bytes = await fetchBytes(`/onnx-node-tests/${test}/model.onnx`);
  if (!bytes) return { status: 'fail', ops: [], dtype: '?', reason: 'model.onnx missing' };
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnx.GraphProto;
  const ops = [...new Set(graph.node.map((n) => (n.domain ? `${n.domain}.${n.opType}` : n.opType!)))];
  // Sequence / optional / map values are outside webvl's tensor-only engine.
  const nonTensor = [...graph.input, ...graph.output].filter((v) => !v.type?.tensorType);
  if (nonTensor.length) {
    return {
      status: 'unsupported',
      ops,
      dtype: 'non-tensor',
      reason: `non-tensor values: ${nonTensor.map((v) => v.name)}`,
    };
  }
  const fed = graph.input.filter((v) => !graph.initializer.some((i) => i.name === v.name));
  let inputs: (HostTensor | null)[];
  let expected: (HostTensor | null)[];
  try {
    const types = (values: onnx.IValueInfoProto[]) =>
      values.map((v) => v.type?.tensorType?.elemType ?? undefined);
    [inputs, expected] = await Promise.all([
      loadSet(test, 'input', types(fed)),
      loadSet(test, 'output', types(graph.output)),
    ]);
  } catch (e) {
    return {
      status: 'unsupported',
      ops,
      dtype: '?',
      reason: `test data not decodable as tensors: ${String(e)}`,
    };
  }
  const dtype = [...new Set(expected.map((t) => t?.dtype ?? 'other'))].join('+');
  if (inputs.some((t) => t === null) || expected.some((t) => t === null)) {
    return { status: 'unsupported', ops, dtype, reason: 'tensor dtype outside webvl (string, complex, …)' };
  }
  const feeds = Object.fromEntries(fed.map((v, i) => [v.name!, inputs[i]!]));
  try {
    const session = await backend.load(bytes, { label: test });
    try {
      const outputs = await session.run(feeds);
      for (let i = 0; i < expected.length; i++) {
        const name = graph.output[i].name!;
        if (!outputs[name]) return { status: 'fail', ops, dtype, reason: `no output '${name}'` };
        const diff = allClose(await toHost(outputs[name]), expected[i]!);
        if (diff) return { status: 'fail', ops, dtype, reason: `${name}: ${diff}` };
      }
    } finally {
      await session.release();
    }
  } catch (e) {
    // An op or form the engine refuses, or a data type it does not hold (float8…): a typed refusal.
    if (isWebvlError(e) && (e.code === 'UNSUPPORTED_OP' || e.code === 'UNSUPPORTED_MODEL'))
      return { status: 'unsupported', ops, dtype, reason: e.message };
    return { status: 'fail', ops, dtype, reason: e instanceof Error ? e.message : String(e) };
  }
  return { status: 'pass', ops, dtype };
}

let backendPromise: Promise<Backend> | undefined;

const api = {
  /** What our engine's load() accepts (default-domain ops). */
  claimedOps: (): string[] => supportedOps(),
  async run(tests: string[], backendName: BackendName): Promise<Record<string, CaseResult>> {
    backendPromise ??= createBackend(backendName);
    const backend = await backendPromise;
    const results: Record<string, CaseResult> = {};
    for (const t of tests) results[t] = await runCase(backend, t);
    return results;
  },
};

declare global {
  interface Window {
    webvlConformance: typeof api;
    webvlReady: boolean;
  }
}
window.webvlConformance = api;
window.webvlReady = true;
