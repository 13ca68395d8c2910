// Our WebGPU backend: ONNX decode → IR → passes → plan → WGSL kernels.

import { WebvlError } from '../../errors';
import { isSoftwareAdapter } from '../adapter-kind';
import type { Backend, KvCacheSpec, SessionOptions } from '../backend';
import { BufferPool } from './gpu/buffer-pool';
import { GpuKvCache } from './gpu/kv-cache';
import { PipelineCache } from './gpu/pipeline-cache';
import { ONNX_TO } from './ir/const-eval';
import { isPatchConv } from './ir/conv-params';
import { MAX_CONV_TRANSPOSE_RANK } from './ir/conv-transpose-params';
import { HOST_OPS } from './ir/host-ops';
import { type Graph, type Node, opKey, WEBVL_DOMAIN } from './ir/ir';
import { decodeModel } from './ir/onnx-decode';
import { MAX_POOL_RANK } from './ir/pool-params';
import { resizeFormProblem } from './ir/resize-params';
import { dropUnreadInitializers } from './passes/dead-code';
import { withNextTokenHead } from './passes/next-token-head';
import { packQuantizedWeights } from './passes/pack-quantized';
import { splitOversizedConstants } from './passes/split-oversized';
import { widenHalfConstants } from './passes/widen-half-constants';
import { GpuPixelPipeline } from './pixel-pipeline';
import type { KernelFeatures } from './plan/kernel-context';
import { FOLD_ONLY_OPS, lowering, SUPPORTED_CONTRIB_OPS, supportedOps, VIEW_OPS } from './plan/lowering';
import { recurrentFormProblem } from './plan/lowering-rnn';
import { type EngineDevice, WebGpuSession } from './session';

export { supportedOps };

export interface WebGpuBackendOptions {
  /** The WebGPU entry point; default `navigator.gpu` (in Node, pass `create([])` from the `webgpu` package). */
  readonly gpu?: GPU;
  /** An already created device to share (e.g. with the image preprocessing or the embedding index). */
  readonly device?: GPUDevice;
  /**
   * Whether the adapter is a software one (the kernels take their barrier-free variants). Default: detected
   * from the adapter; false for a device passed in without this flag.
   */
  readonly softwareAdapter?: boolean;
  /**
   * 'f16': kernels that have an f16-arithmetic form use it where the adapter has shader-f16 (tensors stay f32
   * in memory; products are summed in f16 over short slabs). Default 'f32'.
   */
  readonly computePrecision?: 'f32' | 'f16';
  /**
   * Largest tensor, in bytes, one kernel binding may take; default and upper bound: the device's
   * `maxStorageBufferBindingSize` (and `maxBufferSize`). Constants above it are split at load where their
   * readers allow (embedding tables, product weights), else the model is refused with OUT_OF_MEMORY.
   */
  readonly maxBindingBytes?: number;
  /**
   * GPU memory, in bytes, the plans one session keeps for reuse may hold (inputs and intermediates of each
   * input-shape signature seen; least recently used dropped first; the plan in use always stays). Default
   * 256 MiB.
   */
  readonly planCacheBytes?: number;
}

export { isSoftwareAdapter } from '../adapter-kind';

/**
 * Forms of otherwise supported ops that the engine cannot run, decidable from the node alone (so load()
 * rejects them and the runtime falls back to ORT before the first run).
 */
function unsupportedForm(n: Pick<Node, 'opType' | 'domain' | 'attrs' | 'inputs' | 'outputs'>): boolean {
  const attr = (name: string) => {
    const a = n.attrs[name];
    return a && (a.type === 'int' || a.type === 'float') ? a.value : undefined;
  };
  if ((n.opType === 'AveragePool' || n.opType === 'MaxPool') && (n.domain === '' || n.domain === 'ai.onnx')) {
    // Pools over more spatial axes than the kernel's three. kernel_shape is required: a node without one is a
    // bad model, which shape inference reports.
    const kernel = n.attrs.kernel_shape;
    return kernel?.type === 'ints' && kernel.value.length > MAX_POOL_RANK;
  }
  // Cast (and CastLike, whose target the decoder writes where the dtype does not name it) to a valid ONNX type
  // the engine does not hold (string, complex, float8, int4, float4).
  if ((n.opType === 'Cast' || n.opType === 'CastLike') && (n.domain === '' || n.domain === 'ai.onnx')) {
    const to = attr('to');
    return to !== undefined && Number.isInteger(to) && to >= 1 && to <= 23 && ONNX_TO[to] === undefined;
  }
  if (n.domain === 'com.microsoft' && n.opType === 'Attention') {
    // past_sequence_length, and unequal Q/K/V hidden sizes, are not lowered (mask_index is, passes/padding-mask.ts).
    return n.inputs.slice(6).some(Boolean) || n.attrs.qkv_hidden_sizes !== undefined;
  }
  // MultiHeadAttention: not the CUDA decoding inputs (past_sequence_length, cache_indirection) nor the QK output.
  if (n.domain === 'com.microsoft' && n.opType === 'MultiHeadAttention')
    return n.inputs.slice(8).some(Boolean) || n.outputs.slice(3).some(Boolean);
  // GroupQueryAttention: a sliding window of W > 0 keys, a softcap, attention sinks (smooth softmax, head_sink)
  // and attention_bias (passes/lower-gqa.ts), but no window of 0 (onnxruntime versions disagree on it) nor
  // negative softcap; not position_ids (onnxruntime's CPU kernel ignores it on a first prompt), nor the QK output.
  if (n.domain === 'com.microsoft' && n.opType === 'GroupQueryAttention')
    return (
      ((attr('local_window_size') ?? -1) !== -1 && (attr('local_window_size') ?? -1) <= 0) ||
      (attr('softcap') ?? 0) < 0 ||
      ((attr('smooth_softmax') ?? 0) !== 0 && (attr('smooth_softmax') ?? 0) !== 1) ||
      !!n.inputs[9] ||
      n.inputs.slice(12).some(Boolean) ||
      n.outputs.slice(3).some(Boolean)
    );
  // Opset 23's Attention: not its QK output, nor opset 24's nonpad_kv_seqlen, nor softmax in another precision.
  if (n.opType === 'Attention' && (n.domain === '' || n.domain === 'ai.onnx'))
    return !!n.inputs[6] || !!n.outputs[3] || ![undefined, 1].includes(attr('softmax_precision'));
  // Packed batching (sequences concatenated without padding) is a RotaryEmbedding form we do not lower.
  if (n.domain === 'com.microsoft' && (n.opType === 'RotaryEmbedding' || n.opType === 'MRotaryEmbedding'))
    return (attr('is_packed_batching') ?? 0) !== 0 || !n.inputs[1];
  // The state window of LinearAttention / CausalConvWithState and 2-D or 3-D convolutions (onnxruntime runs
  // them on CUDA only).
  if (n.domain === 'com.microsoft' && (n.opType === 'LinearAttention' || n.opType === 'CausalConvWithState'))
    return (attr('state_window') ?? 0) !== 0 || (attr('ndim') ?? 1) !== 1;
  if (n.opType === 'Resize' && (n.domain === '' || n.domain === 'ai.onnx'))
    return resizeFormProblem({ ...n, name: '' }) !== undefined;
  // Conv over more than two spatial axes (the conv2d kernels take 1-D as 2-D) unless it is a 3-D patch
  // embedding; kernel_shape is optional, and without it the first run decides.
  if (n.opType === 'Conv' && (n.domain === '' || n.domain === 'ai.onnx')) {
    const ints = (name: string) => {
      const a = n.attrs[name];
      return a?.type === 'ints' ? a.value : undefined;
    };
    const kernel = ints('kernel_shape');
    if (!kernel || kernel.length <= 2) return false;
    const autoPad = n.attrs.auto_pad?.type === 'string' ? n.attrs.auto_pad.value : 'NOTSET';
    const pads = ints('pads') ?? [0, 0, 0, 0, 0, 0];
    return (
      kernel.length !== 3 ||
      (attr('group') ?? 1) !== 1 ||
      (autoPad !== 'NOTSET' && autoPad !== 'VALID') ||
      !isPatchConv({
        kernel,
        strides: ints('strides') ?? [1, 1, 1],
        dilations: ints('dilations') ?? [1, 1, 1],
        padsBegin: pads.slice(0, 3),
        padsEnd: pads.slice(3),
      })
    );
  }
  // ConvTranspose over more spatial axes than the kernel's three.
  if (n.opType === 'ConvTranspose') {
    const kernel = n.attrs.kernel_shape;
    return kernel?.type === 'ints' && kernel.value.length > MAX_CONV_TRANSPOSE_RANK;
  }
  // BatchNormalization before opset 9 with per-activation statistics (spatial = 0), or the opset 7-14 outputs
  // only training used (saved mean / variance).
  if (n.opType === 'BatchNormalization') return attr('spatial') === 0 || n.outputs.slice(3).some(Boolean);
  if (
    (n.opType === 'RNN' || n.opType === 'GRU' || n.opType === 'LSTM') &&
    (n.domain === '' || n.domain === 'ai.onnx')
  )
    return recurrentFormProblem({ ...n, name: '' }) !== undefined;
  return false;
}

type OpRef = Pick<Node, 'opType' | 'domain'> & Partial<Pick<Node, 'attrs' | 'inputs' | 'outputs'>>;

/** INVALID_MODEL for an If whose branches do not give the outputs it declares (at any depth). */
function checkIfBranches(nodes: readonly Node[]): void {
  for (const n of nodes) {
    if (n.opType !== 'If') continue;
    for (const name of ['then_branch', 'else_branch']) {
      const a = n.attrs[name];
      if (a?.type !== 'graph') throw new WebvlError('INVALID_MODEL', `If node '${n.name}' has no ${name}`);
      if (a.value.outputs.length !== n.outputs.length) {
        throw new WebvlError(
          'INVALID_MODEL',
          `If node '${n.name}': ${name} gives ${a.value.outputs.length} outputs, the node declares ${n.outputs.length}`,
        );
      }
      checkIfBranches(a.value.nodes);
    }
  }
}

/** Nodes of If branches (recursively): they must be runnable too, whichever branch a run takes. */
function branchNodes(n: OpRef): OpRef[] {
  if (n.opType !== 'If') return [];
  return ['then_branch', 'else_branch'].flatMap((name) => {
    const a = n.attrs?.[name];
    return a?.type === 'graph' ? a.value.nodes.flatMap((b) => [b, ...branchNodes(b)]) : [];
  });
}

/** Ops of a graph that our engine has no way to run, as `domain:Op` keys ('Op' for the default domain). */
export function unsupportedOps(ops: Iterable<OpRef>): string[] {
  const missing = new Set<string>();
  for (const n of [...ops].flatMap((o) => [o, ...branchNodes(o)])) {
    const key = opKey(n);
    const isDefault = n.domain === '' || n.domain === 'ai.onnx';
    const known = isDefault
      ? VIEW_OPS.has(n.opType) ||
        FOLD_ONLY_OPS.has(n.opType) ||
        n.opType === 'LayerNormalization' ||
        n.opType === 'SimplifiedLayerNormalization' || // onnxruntime's, rewritten by canonicalize-contrib.ts
        n.opType === 'RotaryEmbedding' || // opset 23's, rewritten by canonicalize-contrib.ts too
        n.opType === 'Attention' || // opset 23's, lowered once shapes are known (passes/lower-onnx-attention.ts)
        n.opType === 'Constant' || // decoded into an initializer
        n.opType === 'If' || // inlined once its condition is known (passes/inline-if.ts)
        HOST_OPS.has(n.opType) || // evaluated on the host between plans (ir/host-ops.ts)
        !!lowering(n)
      : n.domain === WEBVL_DOMAIN
        ? !!lowering(n)
        : SUPPORTED_CONTRIB_OPS.has(key);
    if (
      !known ||
      unsupportedForm({
        opType: n.opType,
        domain: n.domain,
        attrs: n.attrs ?? {},
        inputs: n.inputs ?? [],
        outputs: n.outputs ?? [],
      })
    ) {
      missing.add(key);
    }
  }
  return [...missing].sort();
}

async function acquireDevice(
  gpu: GPU | undefined,
): Promise<{ device: GPUDevice; description: string; software: boolean }> {
  const entry = gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!entry) throw new WebvlError('NO_WEBGPU', 'WebGPU is not available (navigator.gpu is missing)');
  const adapter = await entry.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new WebvlError('NO_WEBGPU', 'navigator.gpu.requestAdapter() returned no adapter');
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  // Profiles only (WebGpuSession.profile): runs never write timestamps.
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    // Take what the adapter offers: models need large storage buffers and full workgroups.
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  const info = adapter.info;
  const description =
    [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { device, description, software: isSoftwareAdapter(adapter) };
}

function featuresOf(device: GPUDevice, softwareAdapter: boolean, f16Compute = false): KernelFeatures {
  return {
    softwareAdapter,
    f16Compute: f16Compute && device.features.has('shader-f16'),
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
}

/** Engine objects on a device someone else made (onnxruntime-web's, for preprocessing on its device). */
export function engineOnDevice(device: GPUDevice, softwareAdapter = false, f16Compute = false): EngineDevice {
  return {
    device,
    features: featuresOf(device, softwareAdapter, f16Compute),
    pipelines: new PipelineCache(device),
    pool: new BufferPool(device),
  };
}

/** Bytes one binding may take on `device`, capped by the backend option. */
function bindingLimit(device: GPUDevice, cap = Number.POSITIVE_INFINITY): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, cap);
}

/**
 * Every kernel binds a whole tensor, so a constant larger than one binding that passes/split-oversized.ts
 * could not split cannot run here: OUT_OF_MEMORY at load, before any upload, so 'auto' can move the graph to
 * onnxruntime-web.
 */
function checkFits(graph: Graph, packed: ReadonlySet<string>, limit: number, label: string): void {
  for (const [name, t] of graph.initializers) {
    // As uploaded: f32/i32 words per element, but raw bytes for packed quantized weights, halves for float16.
    const bytes = packed.has(name)
      ? t.data.length
      : t.dtype === 'float16'
        ? t.data.length * 2
        : t.data.length * 4;
    if (bytes > limit) {
      throw new WebvlError(
        'OUT_OF_MEMORY',
        `${label}: tensor '${name}' takes ${bytes} bytes on the GPU, above this device's ${limit}-byte binding limit`,
        { tensor: name, bytes, limit },
      );
    }
  }
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  private engine: Promise<EngineDevice> | undefined;
  private adapterDescription = 'WebGPU (device not acquired yet)';

  constructor(private readonly options: WebGpuBackendOptions = {}) {
    const cap = options.maxBindingBytes;
    if (cap !== undefined && !(Number.isSafeInteger(cap) && cap >= 1024))
      throw new WebvlError('INVALID_INPUT', `maxBindingBytes must be an integer ≥ 1024, got ${cap}`);
    const budget = options.planCacheBytes;
    if (budget !== undefined && !(Number.isSafeInteger(budget) && budget >= 0))
      throw new WebvlError('INVALID_INPUT', `planCacheBytes must be an integer ≥ 0, got ${budget}`);
  }

  describe(): string {
    return `webvl WebGPU engine on ${this.adapterDescription}`;
  }

  /** The device, acquired on first use and shared by every session of this backend. */
  engineDevice(): Promise<EngineDevice> {
    if (!this.engine) {
      this.engine = (async () => {
        let device = this.options.device;
        let software = this.options.softwareAdapter ?? false;
        if (!device) {
          const acquired = await acquireDevice(this.options.gpu);
          device = acquired.device;
          this.adapterDescription = acquired.description;
          software = this.options.softwareAdapter ?? acquired.software;
        }
        return engineOnDevice(device, software, this.options.computePrecision === 'f16');
      })();
      this.engine.catch(() => {
        this.engine = undefined; // let a later call retry
      });
    }
    return this.engine;
  }

  /** Acquires the device ahead of the first load. */
  async prepare(): Promise<void> {
    await this.engineDevice().catch(() => undefined);
  }

  async kvCache(spec: KvCacheSpec): Promise<GpuKvCache> {
    return new GpuKvCache(await this.engineDevice(), spec);
  }

  async pixelPipeline(): Promise<GpuPixelPipeline> {
    return new GpuPixelPipeline(await this.engineDevice());
  }

  async load(model: Uint8Array, options: SessionOptions = {}): Promise<WebGpuSession> {
    return this.loadGraph(decodeModel(model, options.externalData), options);
  }

  /** Same as load() for a graph already in IR form (tests build small graphs directly). */
  async loadGraph(source: Graph, options: SessionOptions = {}): Promise<WebGpuSession> {
    const graph = options.nextToken ? withNextTokenHead(source, options.nextToken) : source;
    checkIfBranches(graph.nodes);
    // Quantized weights are packed once here, so what cannot be rewritten is refused just below.
    const packed = packQuantizedWeights(graph);
    const missing = unsupportedOps(graph.nodes);
    if (missing.length > 0) {
      throw new WebvlError(
        'UNSUPPORTED_OP',
        `${options.label ?? 'model'}: our WebGPU engine lacks ${missing.join(', ')}`,
        {
          ops: missing,
        },
      );
    }
    const engine = await this.engineDevice();
    const limit = bindingLimit(engine.device, this.options.maxBindingBytes);
    // A float16 tensor kept half must fit one binding; larger ones are widened here and split below.
    widenHalfConstants(graph, limit);
    // The packed and widened tensors replace their sources: nothing reads those any more, and the session keeps
    // the graph.
    dropUnreadInitializers(graph);
    splitOversizedConstants(graph, limit, packed);
    checkFits(graph, packed, limit, options.label ?? 'model');
    return new WebGpuSession(engine, graph, options, this.options.planCacheBytes);
  }
}
