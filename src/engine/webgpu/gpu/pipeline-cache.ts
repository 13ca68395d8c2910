// Compute pipelines compiled once per kernel cacheKey, for the lifetime of the device.
import { WebvlError } from '../../../errors';
import type { ProgramSpec } from '../plan/kernel-context';
import { withPrelude } from './wgsl-prelude';

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  private readonly ready = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  /** Compiles (or finds) the pipeline for `spec`; rejects with INTERNAL on a WGSL or layout error. */
  prepare(spec: ProgramSpec): Promise<GPUComputePipeline> {
    const key = `${spec.cacheKey}|${spec.entryPoint ?? 'main'}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: withPrelude(spec.wgsl), label: spec.label });
      p = this.device
        .createComputePipelineAsync({
          label: spec.label,
          layout: 'auto',
          // Without an entry point WebGPU takes the module's only one.
          compute: spec.entryPoint ? { module, entryPoint: spec.entryPoint } : { module },
        })
        .then(
          (pipeline) => {
            this.ready.set(key, pipeline);
            return pipeline;
          },
          async (e: unknown) => {
            this.pipelines.delete(key);
            // The WGSL compiler's own messages say what is wrong; the pipeline error only says "invalid".
            const info = await module.getCompilationInfo().catch(() => undefined);
            const messages = (info?.messages ?? [])
              .map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)
              .join('; ');
            const why = e instanceof Error ? e.message : String(e);
            throw new WebvlError('INTERNAL', `kernel '${spec.label}' failed to compile: ${messages || why}`);
          },
        );
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Number of distinct pipelines compiled. */
  get size(): number {
    return this.ready.size;
  }
}
