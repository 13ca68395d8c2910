// Recorded programs → ready-to-encode dispatches: pipelines from the cache, all uniforms in one buffer (each
// program's slice aligned), one bind group per program. Shared by plans and the standalone image pipeline.
import { WebvlError } from '../../../errors';
import { type DType, sizeOf } from '../../tensor';
import { BUFFER_COPY_DST, BUFFER_UNIFORM } from '../gpu/gpu-flags';
import type { PipelineCache } from '../gpu/pipeline-cache';
import type { ProgramSpec } from './kernel-context';

export interface Dispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  /** Where the program's uniforms sit in the shared uniform buffer (-1: none); kept to bind it anew. */
  readonly uniformOffset: number;
}

export interface BuiltDispatches {
  readonly dispatches: Dispatch[];
  /** Holds every program's uniforms; the caller owns it (destroy with the dispatches). */
  readonly uniformBuffer?: GPUBuffer;
}

/** The bind group of `program`: its storage views in binding order, then its slice of the uniform buffer. */
export function bindGroupOf(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  program: ProgramSpec,
  uniforms: { readonly buffer: GPUBuffer; readonly offset: number } | undefined,
): GPUBindGroup {
  const entries: GPUBindGroupEntry[] = program.bindings.map((v, binding) => ({
    binding,
    resource: {
      buffer: v.buffer,
      offset: v.offset ?? 0,
      // A packed quantized weight is bound whole: its dims are B's logical [N, K], not its words.
      size: v.quant
        ? v.buffer.size - (v.offset ?? 0)
        : Math.max(4, alignUp(sizeOf(v.dims) * gpuElementBytes(v.dtype), 4)),
    },
  }));
  if (program.uniforms && uniforms) {
    entries.push({
      binding: program.bindings.length,
      resource: {
        buffer: uniforms.buffer,
        offset: uniforms.offset,
        size: alignUp(program.uniforms.byteLength, 16),
      },
    });
  }
  return device.createBindGroup({ label: program.label, layout: pipeline.getBindGroupLayout(0), entries });
}

/** Bytes per element on the GPU: f32 and the i32 family are 4 bytes (see ops/index.ts), f16 is 2. */
export function gpuElementBytes(dtype: DType): number {
  return dtype === 'float16' ? 2 : 4;
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export async function buildDispatches(
  device: GPUDevice,
  pipelines: PipelineCache,
  programs: readonly ProgramSpec[],
): Promise<BuiltDispatches> {
  const pipelineList = await Promise.all(programs.map((p) => pipelines.prepare(p)));
  const align = device.limits.minUniformBufferOffsetAlignment;
  let total = 0;
  const offsets = programs.map((p) => {
    if (!p.uniforms) return -1;
    const at = total;
    total = alignUp(total + alignUp(p.uniforms.byteLength, 16), align);
    return at;
  });
  let uniformBuffer: GPUBuffer | undefined;
  if (total > 0) {
    uniformBuffer = device.createBuffer({
      size: total,
      usage: BUFFER_UNIFORM | BUFFER_COPY_DST,
      label: 'uniforms',
    });
    const bytes = new Uint8Array(total);
    programs.forEach((p, i) => {
      if (p.uniforms) bytes.set(new Uint8Array(p.uniforms), offsets[i]);
    });
    device.queue.writeBuffer(uniformBuffer, 0, bytes);
  }
  device.pushErrorScope('validation');
  const dispatches = programs.map((p, i) => {
    const uniforms =
      uniformBuffer && offsets[i] >= 0 ? { buffer: uniformBuffer, offset: offsets[i] } : undefined;
    const bindGroup = bindGroupOf(device, pipelineList[i], p, uniforms);
    const [x, y = 1, z = 1] = p.workgroups;
    return {
      pipeline: pipelineList[i],
      bindGroup,
      workgroups: [x, y, z] as const,
      uniformOffset: offsets[i],
    };
  });
  const error = await device.popErrorScope();
  if (error) {
    uniformBuffer?.destroy();
    throw new WebvlError('INTERNAL', `dispatch setup failed: ${error.message}`);
  }
  return { dispatches, uniformBuffer };
}

/** Records the dispatches into one compute pass. */
export function encodeDispatches(encoder: GPUCommandEncoder, dispatches: readonly Dispatch[]): void {
  if (dispatches.length === 0) return;
  const pass = encoder.beginComputePass();
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
  pass.end();
}
