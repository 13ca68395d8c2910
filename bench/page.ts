// Benchmark page: every engine runs the same graphs on the same inputs in this one page (bench/core.ts).
import { measurePeak, trackGpuBuffers } from '../e2e/pages/gpu-buffers';
import { requestIndexDevice } from '../src/index/gpu-topk';
import { openModelFolder } from '../src/models/model-folder';
import { benchArchitecture } from './architectures';
import {
  benchAsk as askRow,
  type BenchHost,
  benchGraph,
  benchCaption as captionRow,
  failedRow,
  graphResult,
  benchIndex as indexRow,
  makeFeeds,
  ReferenceOutputs,
  timeRepeats,
} from './core';
import type { AskRowSpec, CaptionRowSpec, GraphEngine, GraphRowSpec, IndexRowSpec, RowResult } from './spec';

async function rgbaOf(url: string) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d')!;
  g.drawImage(bitmap, 0, 0);
  return g.getImageData(0, 0, bitmap.width, bitmap.height);
}

const host: BenchHost = {
  fetchBytes: async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer()),
  modelStore: (url) => openModelFolder(url),
  rgba: rgbaOf,
  measurePeak,
  indexDevice: async () => (await requestIndexDevice()) ?? undefined,
};

const reference = new ReferenceOutputs();
const captionReference = new Map<string, number[]>();
const askReference = new Map<string, number[]>();

async function benchTransformers(row: GraphRowSpec, repeats: number) {
  if (!row.transformers) throw new Error('no transformers.js mapping for this row');
  const tjs = await import('@huggingface/transformers');
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = '/models/';
  const onnxEnv = tjs.env.backends.onnx as { wasm?: { wasmPaths?: string } };
  if (onnxEnv.wasm) onnxEnv.wasm.wasmPaths = `${location.origin}/tjs-ort/`;
  const cls = tjs[row.transformers.cls];
  const model = await cls.from_pretrained(row.transformers.folder, { device: 'wasm', dtype: 'fp32' });
  const feeds = makeFeeds(row.feeds);
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([k, t]) => [k, new tjs.Tensor(t.dtype, t.data as Float32Array, [...t.dims])]),
  );
  let last: Float32Array = new Float32Array();
  const { warmupMs, times } = await timeRepeats(repeats, async () => {
    const out = (await model(inputs)) as Record<string, { data: Float32Array }>;
    last = (out.image_embeds ?? out.text_embeds).data;
  });
  await model.dispose();
  return { warmupMs, times, last };
}

async function benchRow(
  row: GraphRowSpec,
  engine: GraphEngine | 'transformers.js',
  repeats: number,
): Promise<RowResult> {
  try {
    const { result: r, peakBytes } = await measurePeak(() =>
      engine === 'transformers.js' ? benchTransformers(row, repeats) : benchGraph(host, row, engine, repeats),
    );
    return graphResult(row, engine, r, peakBytes, reference.check(row.id, engine, r.last));
  } catch (e) {
    return failedRow(row.id, engine, e);
  }
}

async function adapterInfo(): Promise<Record<string, string | boolean>> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return { description: 'no WebGPU adapter' };
  const i = adapter.info;
  return { vendor: i.vendor, architecture: i.architecture, description: i.description, device: i.device };
}

const benchIndex = (row: IndexRowSpec, repeats: number) => indexRow(host, row, repeats);
const benchCaption = (row: CaptionRowSpec, engine: GraphEngine, repeats: number) =>
  captionRow(host, row, engine, repeats, captionReference);

const benchAsk = (row: AskRowSpec, engine: GraphEngine, repeats: number) =>
  askRow(host, row, engine, repeats, askReference);

trackGpuBuffers();
const api = { benchRow, benchIndex, benchCaption, benchAsk, benchArchitecture, adapterInfo };

declare global {
  interface Window {
    webvlBench: typeof api;
    webvlReady: boolean;
  }
}
window.webvlBench = api;
window.webvlReady = true;
