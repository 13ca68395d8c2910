// A loaded model whose graphs, where their backend can, only prepare (build plans, compile pipelines) instead of
// running, and answer with zeros of the right shapes. Warming up through it costs compilation, not execution
// (on SwiftShader, executing BLIP's graphs once adds about half a second to the second or so of compiling).
// Graphs on backends that prepare on their first run (onnxruntime-web) really run.
import type { KvCache, KvCacheSpec, Session } from '../engine/backend';
import { hostTensor, type Tensor } from '../engine/tensor';
import type { LoadedModel } from './loaded-model';

/** Real runs one at a time: onnxruntime-web's WebGPU provider is not to be entered by two sessions at once. */
class RunQueue {
  private tail: Promise<unknown> = Promise.resolve();
  add<T>(f: () => Promise<T>): Promise<T> {
    const next = this.tail.then(f);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

class DryRunSession implements Session {
  constructor(
    private readonly inner: Session,
    private readonly runs: RunQueue,
  ) {}
  get inputNames() {
    return this.inner.inputNames;
  }
  get outputNames() {
    return this.inner.outputNames;
  }
  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const shapes = await this.inner.prepare?.(feeds);
    if (!shapes) return this.runs.add(() => this.inner.run(feeds));
    return Object.fromEntries(Object.entries(shapes).map(([name, s]) => [name, hostTensor(s.dtype, s.dims)]));
  }
  lastRunStats() {
    return this.inner.lastRunStats();
  }
  release(): Promise<void> {
    return this.inner.release(); // never called: the dry-run model is not released, the real one is
  }
}

/**
 * A KV cache of zeros on the host, for the dry run's zero outputs: the decoder is prepared for the capacity a
 * real cache would have (the plan captions will run), and nothing is copied.
 */
class ShapeOnlyKvCache implements KvCache {
  length = 0;
  batch: number;
  constructor(private readonly spec: KvCacheSpec) {
    this.batch = spec.batch;
  }
  get capacity(): number {
    return this.spec.capacity;
  }
  pasts(): Record<string, Tensor> {
    const { heads, capacity, headDim } = this.spec;
    const zeros = hostTensor('float32', [this.batch, heads, capacity, headDim]);
    return Object.fromEntries(this.spec.names.map((n) => [n, zeros]));
  }
  async append(_: unknown, __: number, count: number): Promise<void> {
    this.length += count;
  }
  truncate(length: number): void {
    this.length = length;
  }
  async reorder(rows: readonly number[]): Promise<void> {
    this.batch = rows.length;
  }
  release(): void {}
}

export function dryRun(model: LoadedModel): LoadedModel {
  const cache = model.captionCache;
  const runs = new RunQueue();
  const wrap = (s: Session | undefined) => (s ? new DryRunSession(s, runs) : undefined);
  return {
    ...model,
    vision: wrap(model.vision),
    text: wrap(model.text),
    combined: wrap(model.combined),
    itm: wrap(model.itm),
    fusion: wrap(model.fusion),
    decoder: wrap(model.decoder),
    decoderWithPast: wrap(model.decoderWithPast),
    captionCache: cache && {
      kv: cache.kv,
      factory: async () => ((await cache.factory()) ? async (spec) => new ShapeOnlyKvCache(spec) : undefined),
    },
  };
}
