// A loaded model whose graphs, where their backend can, only prepare (build plans, compile pipelines) instead of
// running, and answer with zeros of the right shapes. Warming up through it costs compilation, not execution
// (on SwiftShader, executing BLIP's graphs once adds about half a second to the second or so of compiling).
// Graphs on backends that prepare on their first run (onnxruntime-web) really run.
import type { Session } from '../engine/backend';
import { hostTensor, type Tensor } from '../engine/tensor';
import type { LoadedModel } from './loaded-model';

class DryRunSession implements Session {
  constructor(private readonly inner: Session) {}
  get inputNames() {
    return this.inner.inputNames;
  }
  get outputNames() {
    return this.inner.outputNames;
  }
  async run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    const shapes = await this.inner.prepare?.(feeds);
    if (!shapes) return this.inner.run(feeds);
    return Object.fromEntries(Object.entries(shapes).map(([name, s]) => [name, hostTensor(s.dtype, s.dims)]));
  }
  lastRunStats() {
    return this.inner.lastRunStats();
  }
  release(): Promise<void> {
    return this.inner.release(); // never called: the dry-run model is not released, the real one is
  }
}

export function dryRun(model: LoadedModel): LoadedModel {
  const wrap = (s: Session | undefined) => (s ? new DryRunSession(s) : undefined);
  return {
    ...model,
    vision: new DryRunSession(model.vision),
    text: new DryRunSession(model.text),
    itm: wrap(model.itm),
    decoder: wrap(model.decoder),
    decoderWithPast: wrap(model.decoderWithPast),
  };
}
