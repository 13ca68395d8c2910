// Our WebGPU backend: ONNX decode → IR → passes → plan → WGSL kernels.

import { WebvlError } from '../../errors';
import { isSoftwareAdapter } from '../adapter-kind';
import type { Backend, SessionOptions } from '../backend';
import { BufferPool } from './buffer-pool';
import { type Graph, type Node, opKey } from './ir';
import type { KernelFeatures } from './kernel-context';
import { FOLD_ONLY_OPS, lowering, SUPPORTED_CONTRIB_OPS, supportedOps, VIEW_OPS } from './lowering';
import { decodeModel, type ExternalData } from './onnx-decode';
import { PipelineCache } from './pipeline-cache';
import { GpuPixelPipeline } from './pixel-pipeline';
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
}

export { isSoftwareAdapter } from '../adapter-kind';

export interface WebGpuLoadOptions extends SessionOptions {
  /** External-data files of the model, by the file name its tensors reference. */
  readonly externalData?: ExternalData;
}

/**
 * Forms of otherwise supported ops that the engine cannot run, decidable from the node alone (so load()
 * rejects them and the runtime falls back to ORT before the first run).
 */
function unsupportedForm(n: Pick<Node, 'opType' | 'domain' | 'attrs' | 'inputs' | 'outputs'>): boolean {
  const attr = (name: string) => {
    const a = n.attrs[name];
    return a && (a.type === 'int' || a.type === 'float') ? a.value : undefined;
  };
  if (n.domain === 'com.microsoft' && n.opType === 'Attention') {
    // mask_index / past inputs, and unequal Q/K/V hidden sizes, are not lowered.
    return !!n.inputs[3] || !!n.inputs[4] || n.attrs.qkv_hidden_sizes !== undefined;
  }
  if (n.domain === 'com.microsoft' && n.opType === 'MultiHeadAttention')
    return !!n.inputs[3] || !!n.inputs[4];
  // A positive LayerNormalization axis may or may not be the last one; only -1 is certain. Its optional Mean /
  // InvStdDev outputs are produced both or neither.
  if (n.opType === 'LayerNormalization')
    return (attr('axis') ?? -1) !== -1 || !!n.outputs[1] !== !!n.outputs[2];
  // Dropout in training mode is random (the engine only runs inference: y = x, mask all true).
  if (n.opType === 'Dropout') return !!n.inputs[2];
  // float16 activations: the engine computes in float32 (float16 initializers are widened on upload).
  if (n.opType === 'Cast') return attr('to') === 10;
  return false;
}

type OpRef = Pick<Node, 'opType' | 'domain'> & Partial<Pick<Node, 'attrs' | 'inputs' | 'outputs'>>;

/** Ops of a graph that our engine has no way to run, as `domain:Op` keys ('Op' for the default domain). */
export function unsupportedOps(ops: Iterable<OpRef>): string[] {
  const missing = new Set<string>();
  for (const n of ops) {
    const key = opKey(n);
    const isDefault = n.domain === '' || n.domain === 'ai.onnx';
    const known = isDefault
      ? VIEW_OPS.has(n.opType) ||
        FOLD_ONLY_OPS.has(n.opType) ||
        n.opType === 'LayerNormalization' ||
        n.opType === 'Constant' || // decoded into an initializer
        !!lowering(n)
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

function featuresOf(device: GPUDevice, softwareAdapter: boolean): KernelFeatures {
  return {
    softwareAdapter,
    shaderF16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    maxInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
    maxWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
  };
}

/** Engine objects on a device someone else made (onnxruntime-web's, for preprocessing on its device). */
export function engineOnDevice(device: GPUDevice, softwareAdapter = false): EngineDevice {
  return {
    device,
    features: featuresOf(device, softwareAdapter),
    pipelines: new PipelineCache(device),
    pool: new BufferPool(device),
  };
}

export class WebGpuBackend implements Backend {
  readonly name = 'webgpu';
  private engine: Promise<EngineDevice> | undefined;
  private adapterDescription = 'WebGPU (device not acquired yet)';

  constructor(private readonly options: WebGpuBackendOptions = {}) {}

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
        return engineOnDevice(device, software);
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

  async pixelPipeline(): Promise<GpuPixelPipeline> {
    return new GpuPixelPipeline(await this.engineDevice());
  }

  async load(model: Uint8Array, options: WebGpuLoadOptions = {}): Promise<WebGpuSession> {
    return this.loadGraph(decodeModel(model, options.externalData), options);
  }

  /** Same as load() for a graph already in IR form (tests build small graphs directly). */
  async loadGraph(graph: Graph, options: SessionOptions = {}): Promise<WebGpuSession> {
    const halfInput = graph.inputs.find((v) => v.dtype === 'float16');
    if (halfInput) {
      throw new WebvlError(
        'UNSUPPORTED_OP',
        `input '${halfInput.name}' is float16; the engine computes in float32`,
        {
          ops: ['float16 input'],
        },
      );
    }
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
    return new WebGpuSession(engine, graph, options);
  }
}
