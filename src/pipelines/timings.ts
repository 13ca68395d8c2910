import type { RunMode, TaskMode, TaskName } from './architecture';

// Per-request stage timings (ms), returned with every result so the demo and benchmarks can show them.
/** Milliseconds per stage of a request ('decode-image', 'preprocess', 'vision', 'text', 'total', …). */
export type Timings = Record<string, number>;

export class Stopwatch {
  readonly timings: Timings = {};
  /** How the request ran (which mode of the architecture, how many pairs a forward pass scored). */
  run: RunMode | undefined;

  ran(task: TaskName, mode: TaskMode, pairs = 0): void {
    this.run = { task, mode, pairs: (this.run?.task === task ? this.run.pairs : 0) + pairs };
  }

  async time<T>(stage: string, f: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      this.timings[stage] = (this.timings[stage] ?? 0) + (performance.now() - t0);
    }
  }
}
