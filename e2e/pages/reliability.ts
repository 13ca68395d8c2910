// Reliability page: feeds the hostile corpus to a backend and checks it keeps serving afterwards.
import type { Backend, BackendName } from '../../src/engine/backend';
import { createBackend } from '../../src/engine/select';
import { toHost } from '../../src/engine/tensor';
import { isWebvlError } from '../../src/errors';
import { compare, loadFixture } from './fixtures';
import { liveGpuBuffers, trackGpuBuffers } from './gpu-buffers';
import { hostileModels } from './hostile-corpus';

export interface HostileOutcome {
  name: string;
  /** 'ran' when the model loaded and ran, else the WebvlError code, 'untyped: …' or 'timeout'. */
  outcome: string;
  ms: number;
}

trackGpuBuffers();

interface PoolCounts {
  inUseCount: number;
  idleCount: number;
}
interface EngineBackend extends Backend {
  engineDevice(): Promise<{ pool: PoolCounts }>;
}

/** After every session is released: buffers still alive, and how many of them the pool keeps for reuse. */
async function gpuCounts(backend: Backend) {
  if (backend.name !== 'webgpu') return undefined;
  const { pool } = await (backend as EngineBackend).engineDevice();
  return { live: liveGpuBuffers().count, poolIdle: pool.idleCount, poolInUse: pool.inUseCount };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))]);
}

async function runHostile(backendName: BackendName, timeoutMs: number) {
  const backend = await createBackend(backendName);
  const fx = await loadFixture('transformer-block');
  const liveBefore = liveGpuBuffers().count;
  const outcomes: HostileOutcome[] = [];
  for (const m of hostileModels(fx.model)) {
    const t0 = performance.now();
    const attempt = (async () => {
      const session = await backend.load(m.bytes, { label: m.name });
      try {
        await session.run(fx.inputs);
      } finally {
        await session.release();
      }
      return 'ran';
    })().catch((e: unknown) =>
      isWebvlError(e) ? e.code : `untyped: ${e instanceof Error ? e.message : String(e)}`,
    );
    const outcome = await withTimeout(attempt, timeoutMs);
    outcomes.push({ name: m.name, outcome, ms: performance.now() - t0 });
  }
  // Wrong feeds on a good model: missing input, wrong rank.
  const good = await backend.load(fx.model, { label: 'good' });
  const badFeeds = [
    { name: 'missing input', feeds: { x: fx.inputs.x } },
    { name: 'wrong rank', feeds: { ...fx.inputs, x: { ...fx.inputs.x, dims: [fx.inputs.x.data.length] } } },
  ];
  for (const b of badFeeds) {
    const t0 = performance.now();
    const outcome = await good
      .run(b.feeds)
      .then(() => 'ran')
      .catch((e: unknown) => (isWebvlError(e) ? e.code : `untyped: ${String(e)}`));
    outcomes.push({ name: b.name, outcome, ms: performance.now() - t0 });
  }
  // Still serving: the good model gives the NumPy reference afterwards.
  const y = await toHost((await good.run(fx.inputs)).y);
  await good.release();
  return { outcomes, afterwards: compare(y, fx.outputs.y), liveBefore, gpu: await gpuCounts(backend) };
}

const api = { runHostile };
declare global {
  interface Window {
    webvlReliability: typeof api;
    webvlReady: boolean;
  }
}
window.webvlReliability = api;
window.webvlReady = true;
