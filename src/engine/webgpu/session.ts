// A loaded model on our engine: plans cached per input-shape signature, one command encoder per run,
// outputs read back or kept on the GPU, feeds taken from the GPU without a read-back.
import { WebvlError } from '../../errors';
import {
  type DispatchTime,
  PAST_LENGTH,
  type RunStats,
  type Session,
  type SessionOptions,
  type TensorShape,
} from '../backend';
import {
  asFloatKind,
  type DType,
  firstPositions,
  type HostTensor,
  sizeOf,
  type Tensor,
  toHost,
} from '../tensor';
import type { BufferPool } from './gpu/buffer-pool';
import { WebGpuDeviceTensor } from './gpu/device-tensor';
import { DispatchTimer, QUERIES_PER_SET } from './gpu/dispatch-timer';
import { copyPositions } from './gpu/kv-cache';
import type { PipelineCache } from './gpu/pipeline-cache';
import { readBack } from './gpu/readback';
import { fromValues, toValues } from './ir/const-eval';
import { evaluateHostOp, isHostOp } from './ir/host-ops';
import { cloneGraph, type Graph, type Node, producers } from './ir/ir';
import { eliminateDeadCode } from './passes/dead-code';
import { hoistContext, sameContext } from './passes/hoist-context';
import { inlineIfs } from './passes/inline-if';
import { type PassCounts, type Specialized, specialize } from './passes/optimize';
import { pastInputs, specializeAtCapacity, specializeInPlace } from './passes/past-capacity';
import {
  bindInputValues,
  MAX_STEERING_ELEMENTS,
  steeringInputs,
  valuesSignature,
} from './passes/run-time-values';
import type { KernelFeatures } from './plan/kernel-context';
import {
  gpuWeightData,
  Plan,
  type PlanDeps,
  type PlanInput,
  STORAGE_USAGE,
  toGpuData,
  type WeightFormat,
} from './plan/plan';

/**
 * Plans kept per session, least recently used dropped first: at most this many, and while more than one is
 * kept, at most `planCacheBytes` of the GPU memory they hold. A decoder fed its growing past (no position
 * input, so no fixed-capacity cache) plans once per length; a count of 6 made every caption past its sixth
 * token plan each step again, in every later caption too.
 */
export const MAX_CACHED_PLANS = 128;
export const DEFAULT_PLAN_CACHE_BYTES = 256 * 2 ** 20;

/** What a plan looks like after the passes: for tests, benchmarks and `runtime.info()`. */
export interface PlanDescription {
  /** Input dims signature the plan was built for. */
  readonly signature: string;
  readonly dispatches: number;
  /** Nodes after fusion, per op ('webvl:Attention', 'MatMul', …). */
  readonly opCounts: Record<string, number>;
  readonly passes: PassCounts;
  readonly steps: readonly { op: string; name: string; dispatches: number }[];
  readonly pipelinesCompiled: number;
  /** Distinct pipeline cache keys of the plan's programs: which kernel variants run (e.g. `matmul|direct|…`). */
  readonly programKeys: readonly string[];
  /** The session's plan cache: plans held now, their GPU bytes, and plans built since load (misses). */
  readonly planCache: { readonly plans: number; readonly bytes: number; readonly built: number };
}

export interface EngineDevice {
  readonly device: GPUDevice;
  readonly features: KernelFeatures;
  readonly pipelines: PipelineCache;
  readonly pool: BufferPool;
}

/** One stage of a graph with host ops: see WebGpuSession.hostStage. */
interface HostStage {
  readonly cut: Graph;
  readonly ready: readonly Node[];
  readonly probe?: Graph;
}

/** Where one plan input comes from in a run. */
interface InputSource {
  readonly input: PlanInput;
  readonly gpu?: WebGpuDeviceTensor;
  readonly host?: HostTensor;
}

const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16'];

function compatible(expected: DType, given: DType): boolean {
  if (expected === given) return true;
  // float16 values are held as f32 on the GPU: either kind of float feeds either kind of float input.
  if (FLOAT_DTYPES.includes(expected) && FLOAT_DTYPES.includes(given)) return true;
  // int32/int64 both live as i32 on the GPU; accept either for integer inputs (token ids, masks).
  return (
    !FLOAT_DTYPES.includes(expected) &&
    !FLOAT_DTYPES.includes(given) &&
    expected !== 'bool' &&
    given !== 'bool'
  );
}

export class WebGpuSession implements Session {
  private readonly plans = new Map<string, Plan>();
  /** Plans built since load (probe plans included): a cache miss each. */
  private plansBuilt = 0;
  /** Model constants on the GPU, per storage format (see plan.ts WeightFormat). */
  private readonly weights = new Map<WeightFormat | 'words', Map<HostTensor, GPUBuffer>>();
  private weightBytes = 0;
  private stats: RunStats | undefined;
  private lastProfile: DispatchTime[] | undefined;
  private lastPlan: Plan | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private released = false;
  private readonly keepOnDevice: ReadonlySet<string>;
  private readonly label: string;
  /** Inputs whose values steer shapes: read on the host at run() and planned on. */
  private readonly steering: ReadonlySet<string>;
  /** Plans that only compute If conditions (see conditionProbe), with the conditions they read back. */
  private readonly probes = new WeakMap<Plan, readonly string[]>();
  /** Whether the graph has Ifs (nested ones are reached through a top-level one). */
  private readonly hasIfs: boolean;
  /** Whether the graph has data-dependent ops, evaluated on the host between plans (ir/host-ops.ts). */
  private readonly hasHostOps: boolean;
  /** The stages of such a graph (runWithHostOps), by the names of the values cut at. */
  private readonly hostStages = new Map<string, HostStage>();
  /** Signatures whose specialized graph still has host ops: they run in stages. */
  private readonly hostOpsLeft = new Set<string>();
  /** The past inputs, when the session takes PAST_LENGTH (SessionOptions.pastLength); else none. */
  private readonly pasts: readonly string[];
  /**
   * The decoder takes position_ids: its positions and its attention_mask, not PAST_LENGTH, say where the cache
   * ends, so pasts at a capacity need no rewrite of positions (PAST_LENGTH only says that slots are free).
   */
  private readonly positional: boolean;
  /** Signatures whose graph passes/past-capacity.ts cannot rewrite: their runs cut the pasts to length. */
  private readonly exactOnly = new Set<string>();
  /** Inputs that stay the same between runs while the same tensor is fed (SessionOptions.contextInputs). */
  private readonly contextInputs: ReadonlySet<string>;
  /** Per context plan (a plan's prelude): the tensors its results were computed from. */
  private readonly contextFed = new WeakMap<Plan, ReadonlyMap<string, unknown>>();

  constructor(
    private readonly engine: EngineDevice,
    private readonly graph: Graph,
    options: SessionOptions = {},
    private readonly planCacheBytes = DEFAULT_PLAN_CACHE_BYTES,
  ) {
    this.keepOnDevice = new Set(options.keepOnDevice ?? []);
    this.label = options.label ?? 'model';
    this.steering = steeringInputs(graph);
    this.hasIfs = graph.nodes.some((n) => n.opType === 'If');
    this.hasHostOps = graph.nodes.some(isHostOp);
    const hostOps = [...new Set(graph.nodes.filter(isHostOp).map((n) => n.opType))];
    // Host ops are cut out of the top-level graph only: not from If branches, nor from KV-cache capacity plans.
    if (hostOps.length > 0 && (this.hasIfs || options.pastLength))
      throw new WebvlError(
        'UNSUPPORTED_OP',
        `${this.label}: ${hostOps.join(', ')} in a graph with If or a KV cache at capacity`,
        { ops: hostOps },
      );
    this.positional = graph.inputs.some((v) => v.name === 'position_ids');
    this.pasts = options.pastLength ? pastInputs(graph) : [];
    this.contextInputs = new Set(options.contextInputs ?? []);
  }

  get inputNames(): readonly string[] {
    const names = this.graph.inputs.map((v) => v.name);
    return this.pasts.length > 0 ? [...names, PAST_LENGTH] : names;
  }

  get outputNames(): readonly string[] {
    return this.graph.outputs.map((v) => v.name);
  }

  lastRunStats(): RunStats | undefined {
    return this.stats;
  }

  /** The plan of the last run (after fusion), or undefined before the first run. */
  describePlan(): PlanDescription | undefined {
    const plan = this.lastPlan;
    if (!plan) return undefined;
    const opCounts: Record<string, number> = {};
    for (const s of plan.steps) opCounts[s.op] = (opCounts[s.op] ?? 0) + 1;
    const signature = [...this.plans.entries()].find(([, p]) => p === plan)?.[0] ?? '';
    return {
      signature,
      dispatches: plan.dispatchCount,
      opCounts,
      passes: plan.specialized.counts,
      steps: plan.steps,
      pipelinesCompiled: this.engine.pipelines.size,
      programKeys: plan.programKeys,
      planCache: {
        plans: this.plans.size,
        bytes: [...this.plans.values()].reduce((sum, p) => sum + p.gpuBytes, 0),
        built: this.plansBuilt,
      },
    };
  }

  run(feeds: Readonly<Record<string, Tensor>>): Promise<Record<string, Tensor>> {
    // Runs share the plan's buffers, so they must not interleave.
    const result = this.queue.then(() => this.runNow(feeds));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Builds (or finds) the plan for these input shapes, compiling its pipelines, without running it. A graph
   * whose plan also depends on input values (shape-steering inputs) cannot be prepared from shapes: undefined.
   */
  prepare(inputs: Readonly<Record<string, TensorShape>>): Promise<Record<string, TensorShape> | undefined> {
    const result = this.queue.then(async () => {
      const dims = this.checkFeeds(inputs);
      if (this.steering.size > 0) return undefined;
      const atCapacity =
        this.pasts.length > 0 && inputs[PAST_LENGTH] && (await this.capacityPlan(dims, new Map()));
      const plan = atCapacity || (await this.planFor(dims, new Map(), new Map()));
      // Ifs on run-time data: which branch runs is known only from the data.
      if (this.probes.has(plan)) return undefined;
      return Object.fromEntries(plan.outputs.map((o) => [o.name, { dtype: o.dtype, dims: o.dims }]));
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private checkFeeds(feeds: Readonly<Record<string, TensorShape>>): Record<string, readonly number[]> {
    if (this.released) throw new WebvlError('NOT_LOADED', `${this.label}: session has been released`);
    const dims: Record<string, readonly number[]> = {};
    for (const input of this.graph.inputs) {
      const t = feeds[input.name];
      if (!t) {
        throw new WebvlError('INVALID_INPUT', `${this.label}: missing input '${input.name}'`, {
          expected: this.inputNames,
        });
      }
      if (!compatible(input.dtype, t.dtype)) {
        throw new WebvlError(
          'INVALID_INPUT',
          `${this.label}: input '${input.name}' should be ${input.dtype}, got ${t.dtype}`,
        );
      }
      dims[input.name] = t.dims;
    }
    return dims;
  }

  /** The values of the shape-steering inputs among `feeds` (small ones only; larger ones are data). */
  private async steeringValues(feeds: Readonly<Record<string, Tensor>>): Promise<Map<string, HostTensor>> {
    const values = new Map<string, HostTensor>();
    for (const name of this.steering) {
      const t = feeds[name];
      if (!t || sizeOf(t.dims) > MAX_STEERING_ELEMENTS) continue;
      values.set(name, t.location === 'cpu' ? t : await t.download());
    }
    return values;
  }

  /**
   * The plan for these dims, steering values and If conditions; or, while an If's condition comes from
   * run-time data and is not among `conditions` yet, a probe plan that computes such conditions (see
   * conditionProbe).
   */
  private async planFor(
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
    conditions: ReadonlyMap<string, HostTensor>,
  ): Promise<Plan> {
    const signature = this.signatureOf(dims, values, conditions);
    const cached = this.cachedPlan(signature);
    if (cached) return cached;
    const probe = this.hasIfs ? conditionProbe(this.graph, values, conditions) : undefined;
    const plan = probe
      ? await Plan.build(this.planDeps(), specialize(probe, dims))
      : await this.build(specialize(this.graph, dims, values, conditions));
    if (probe)
      this.probes.set(
        plan,
        probe.outputs.map((o) => o.name),
      );
    this.remember(signature, plan);
    return plan;
  }

  /**
   * The plan for pasts fed at a capacity with PAST_LENGTH slots filled (passes/past-capacity.ts), one for every
   * length; undefined when the graph cannot be planned so.
   */
  private async capacityPlan(
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
  ): Promise<Plan | undefined> {
    const signature = `${this.signatureOf(dims, values, new Map())}|capacity`;
    if (this.exactOnly.has(signature)) return undefined;
    const cached = this.cachedPlan(signature);
    if (cached) return cached;
    let plan: Plan | undefined;
    try {
      const specialized = this.positional
        ? specializeInPlace(this.graph, dims, values)
        : specializeAtCapacity(this.graph, dims, values);
      plan = specialized && (await this.build(specialized));
    } catch {
      // What fails here fails again, typed, on the exact path, which every run can take.
      plan = undefined;
    }
    if (!plan) {
      this.exactOnly.add(signature);
      return undefined;
    }
    this.remember(signature, plan);
    return plan;
  }

  private signatureOf(
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
    conditions: ReadonlyMap<string, HostTensor>,
  ): string {
    return (
      this.graph.inputs.map((v) => `${v.name}:${dims[v.name].join('x')}`).join(';') +
      (values.size > 0 ? `|${valuesSignature(values)}` : '') +
      (conditions.size > 0 ? `|if:${valuesSignature(conditions)}` : '')
    );
  }

  private cachedPlan(signature: string): Plan | undefined {
    const cached = this.plans.get(signature);
    if (cached) {
      this.plans.delete(signature); // re-insert: Map order doubles as LRU order
      this.plans.set(signature, cached);
    }
    return cached;
  }

  /** A plan, with the work on context inputs alone split into its prelude (passes/hoist-context.ts). */
  private async build(specialized: Specialized): Promise<Plan> {
    const split = this.contextInputs.size > 0 ? hoistContext(specialized, this.contextInputs) : undefined;
    if (!split) return Plan.build(this.planDeps(), specialized);
    const prelude = await Plan.build(this.planDeps(), split.context);
    try {
      return await Plan.build(this.planDeps(), split.step, prelude);
    } catch (e) {
      prelude.release();
      throw e;
    }
  }

  private planDeps(): PlanDeps {
    return { ...this.engine, weight: (t, format) => this.weight(t, format) };
  }

  /** Caches a new plan, dropping the least recently used beyond the count and byte limits. */
  private remember(signature: string, plan: Plan): void {
    this.plans.set(signature, plan);
    this.plansBuilt++;
    let bytes = 0;
    for (const p of this.plans.values()) bytes += p.gpuBytes;
    while (this.plans.size > MAX_CACHED_PLANS || (this.plans.size > 1 && bytes > this.planCacheBytes)) {
      const [oldest, old] = this.plans.entries().next().value as [string, Plan];
      this.plans.delete(oldest);
      bytes -= old.gpuBytes;
      old.release();
    }
  }

  private weight(t: HostTensor, format?: WeightFormat): GPUBuffer {
    let cache = this.weights.get(format ?? 'words');
    if (!cache) {
      cache = new Map();
      this.weights.set(format ?? 'words', cache);
    }
    let buffer = cache.get(t);
    if (!buffer) {
      const data = gpuWeightData(t, format);
      const { device } = this.engine;
      buffer = device.createBuffer({
        size: Math.max(4, Math.ceil(data.byteLength / 4) * 4),
        usage: STORAGE_USAGE,
      });
      // writeBuffer needs whole words; packed bytes may end mid-word.
      const words = data.byteLength % 4 === 0 ? data : padToWords(data);
      device.queue.writeBuffer(buffer, 0, words.buffer, words.byteOffset, words.byteLength);
      cache.set(t, buffer);
      this.weightBytes += buffer.size;
    }
    return buffer;
  }

  /**
   * GPU time of each dispatch of one run on `feeds` (timestamp queries, every dispatch in a pass of its own, so
   * the sum exceeds a plain run by the passes' overhead); undefined where the device has no timestamp-query.
   */
  profile(feeds: Readonly<Record<string, Tensor>>): Promise<DispatchTime[] | undefined> {
    if (!this.engine.device.features.has('timestamp-query')) return Promise.resolve(undefined);
    const result = this.queue
      .then(() => this.runNow(feeds, true))
      .then((out) => {
        // Only the times are wanted: outputs kept on the GPU go back to the pool.
        for (const t of Object.values(out)) if (t instanceof WebGpuDeviceTensor) t.dispose();
        return this.lastProfile;
      });
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async runNow(
    feeds: Readonly<Record<string, Tensor>>,
    timed = false,
  ): Promise<Record<string, Tensor>> {
    const dims = this.checkFeeds(feeds);
    const values = await this.steeringValues(feeds);
    if (this.pasts.length > 0) {
      const filled = await this.pastLength(feeds, dims);
      // Full pasts (fed at their exact length, as beam search and other backends' caches do) take the exact
      // plan: a capacity plan for every length would cost two specializations each.
      const plan = filled < dims[this.pasts[0]][2] ? await this.capacityPlan(dims, values) : undefined;
      if (plan) return this.execute(plan, feeds, timed);
      // A positional decoder's exact plan takes the pasts at capacity as they are (its mask hides free slots).
      if (this.positional) return this.runPlanned(feeds, dims, values, timed);
      return this.runCut(feeds, filled, values, timed);
    }
    return this.runPlanned(feeds, dims, values, timed);
  }

  private async runPlanned(
    feeds: Readonly<Record<string, Tensor>>,
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
    timed: boolean,
  ): Promise<Record<string, Tensor>> {
    if (this.hasHostOps) {
      const folded = await this.foldedHostPlan(dims, values);
      return folded ? this.execute(folded, feeds, timed) : this.runWithHostOps(feeds, dims, values, timed);
    }
    // Ifs whose condition comes from run-time data: probes compute and read back conditions until every If
    // on the path is decided (nested ones appear as their enclosing branch is inlined).
    const conditions = new Map<string, HostTensor>();
    for (;;) {
      const plan = await this.planFor(dims, values, conditions);
      const probed = this.probes.get(plan);
      if (!probed) return this.execute(plan, feeds, timed);
      const out = await this.execute(plan, feeds);
      for (const name of probed) conditions.set(name, out[name] as HostTensor);
    }
  }

  /**
   * The one plan of a graph whose host ops all fold once its steering values are bound (their inputs derive from
   * shapes and those values: Qwen2.5-VL's window order from image_grid_thw), or undefined where one is left to
   * run (staged by runWithHostOps). Either answer is kept per signature.
   */
  private async foldedHostPlan(
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
  ): Promise<Plan | undefined> {
    const signature = `${this.signatureOf(dims, values, new Map())}|folded`;
    if (this.hostOpsLeft.has(signature)) return undefined;
    const cached = this.cachedPlan(signature);
    if (cached) return cached;
    let specialized: Specialized | undefined;
    try {
      specialized = specialize(this.graph, dims, values);
    } catch {
      // Shapes past a host op left are not known before it runs; what else fails, fails typed in stages too.
    }
    if (!specialized || specialized.graph.nodes.some(isHostOp)) {
      this.hostOpsLeft.add(signature);
      return undefined;
    }
    const plan = await this.build(specialized);
    this.remember(signature, plan);
    return plan;
  }

  /**
   * A graph with data-dependent ops (ir/host-ops.ts). In stages: a probe plan computes the inputs of the host ops
   * that no other host op feeds, which are read back and evaluated on the host; then the graph is cut at their
   * inputs and outputs (cutAtHostValues), so later stages and the final plan take them as inputs and do not run
   * their producers again. Plans are cached per stage and the dims of what was cut, like any other.
   */
  private async runWithHostOps(
    feeds: Readonly<Record<string, Tensor>>,
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
    timed: boolean,
  ): Promise<Record<string, Tensor>> {
    const known = new Map<string, HostTensor>();
    for (;;) {
      const stage = this.hostStage(known);
      const cutDims = { ...dims, ...Object.fromEntries([...known].map(([name, t]) => [name, t.dims])) };
      const cutFeeds = { ...feeds, ...Object.fromEntries(known) };
      const signature = `${this.signatureOf(dims, values, new Map())}|host:${[...known]
        .map(([name, t]) => `${name}:${t.dims.join('x')}`)
        .join(';')}`;
      if (stage.ready.length === 0) {
        const out: Record<string, Tensor> = {};
        for (const o of this.graph.outputs) {
          const t = known.get(o.name);
          if (t) out[o.name] = t;
        }
        if (stage.cut.outputs.length === 0) return out;
        const plan = await this.hostStagePlan(`${signature}|run`, stage.cut, cutDims, values);
        return { ...(await this.execute(plan, cutFeeds, timed)), ...out };
      }
      if (stage.probe) {
        const plan = await this.hostStagePlan(`${signature}|probe`, stage.probe, cutDims, values);
        const read = await this.execute(plan, cutFeeds);
        for (const o of stage.probe.outputs) known.set(o.name, await toHost(read[o.name] as Tensor));
      }
      for (const node of stage.ready) {
        const inputs = await Promise.all(
          node.inputs.map(async (name) => {
            const t = name
              ? (known.get(name) ?? stage.cut.initializers.get(name) ?? cutFeeds[name])
              : undefined;
            return t ? toValues(await toHost(t)) : null;
          }),
        );
        evaluateHostOp(node, inputs).forEach((v, i) => {
          if (node.outputs[i]) known.set(node.outputs[i], fromValues(v));
        });
      }
    }
  }

  /**
   * The graph cut at the values `known` names (its outputs less those), the host ops ready in it, and the probe
   * computing what they read that is not a constant or an input yet. The same names give the same stage, so
   * each is derived once per session, not per run.
   */
  private hostStage(known: ReadonlyMap<string, HostTensor>): HostStage {
    const key = [...known.keys()].join('\n');
    const cachedStage = this.hostStages.get(key);
    if (cachedStage) return cachedStage;
    const cut = cutAtHostValues(this.graph, known);
    const ready = readyHostOps(cut);
    const inputs = new Set(cut.inputs.map((v) => v.name));
    const wanted = [
      ...new Set(
        ready.flatMap((n) => n.inputs.filter((i) => i && !cut.initializers.has(i) && !inputs.has(i))),
      ),
    ];
    let probe: Graph | undefined;
    if (wanted.length > 0) {
      probe = cloneGraph(cut);
      probe.outputs = wanted.map((name) => ({ name, dtype: 'float32' }));
      eliminateDeadCode(probe);
    }
    cut.outputs = cut.outputs.filter((o) => !known.has(o.name));
    const stage = { cut, ready, probe };
    this.hostStages.set(key, stage);
    return stage;
  }

  private async hostStagePlan(
    signature: string,
    graph: Graph,
    dims: Record<string, readonly number[]>,
    values: ReadonlyMap<string, HostTensor>,
  ): Promise<Plan> {
    const cached = this.cachedPlan(signature);
    if (cached) return cached;
    const plan = await this.build(specialize(graph, dims, values));
    this.remember(signature, plan);
    return plan;
  }

  /** PAST_LENGTH's value, checked against the pasts' capacity. */
  private async pastLength(
    feeds: Readonly<Record<string, Tensor>>,
    dims: Record<string, readonly number[]>,
  ): Promise<number> {
    const t = feeds[PAST_LENGTH];
    if (!t)
      throw new WebvlError('INVALID_INPUT', `${this.label}: missing input '${PAST_LENGTH}'`, {
        expected: this.inputNames,
      });
    if ((t.dtype !== 'int64' && t.dtype !== 'int32') || sizeOf(t.dims) !== 1)
      throw new WebvlError(
        'INVALID_INPUT',
        `${this.label}: '${PAST_LENGTH}' should be one integer (int64), got ${t.dtype} [${t.dims}]`,
      );
    const host = t.location === 'cpu' ? t : await t.download();
    const filled = Number((host.data as ArrayLike<number | bigint>)[0]);
    const capacity = dims[this.pasts[0]][2];
    if (this.pasts.some((p) => dims[p].length !== 4 || dims[p][2] !== capacity))
      throw new WebvlError('INVALID_INPUT', `${this.label}: the pasts should be [B, H, capacity, D] alike`);
    if (!Number.isInteger(filled) || filled < 0 || filled > capacity)
      throw new WebvlError(
        'INVALID_INPUT',
        `${this.label}: '${PAST_LENGTH}' ${filled} should be an integer in [0, ${capacity}] (the pasts' slots)`,
      );
    return filled;
  }

  /** The exact plan on the pasts' first `filled` slots (a graph past-capacity.ts cannot rewrite). */
  private async runCut(
    feeds: Readonly<Record<string, Tensor>>,
    filled: number,
    values: ReadonlyMap<string, HostTensor>,
    timed: boolean,
  ): Promise<Record<string, Tensor>> {
    const cut: Record<string, Tensor> = { ...feeds };
    const made: WebGpuDeviceTensor[] = [];
    try {
      for (const name of this.pasts) {
        const t = await cutPast(this.engine, feeds[name], filled);
        if (t instanceof WebGpuDeviceTensor && t !== feeds[name]) made.push(t);
        cut[name] = t;
      }
      return await this.runPlanned(cut, this.checkFeeds(cut), values, timed);
    } finally {
      for (const t of made) t.dispose();
    }
  }

  /** Where each input of `plan` comes from: a device tensor, or host data (downloaded from another backend). */
  private async sourcesOf(
    plan: Plan,
    feeds: Readonly<Record<string, Tensor>>,
    skip: ReadonlyMap<string, GPUBuffer>,
  ): Promise<InputSource[]> {
    const { device } = this.engine;
    const sources: InputSource[] = [];
    for (const input of plan.inputs) {
      if (skip.has(input.name)) continue;
      const t = feeds[input.name];
      if (t instanceof WebGpuDeviceTensor) {
        if (t.device !== device)
          throw new WebvlError('INVALID_INPUT', `input '${input.name}' lives on another GPU device`);
        sources.push({ input, gpu: t });
      } else {
        const host = t.location === 'cpu' ? t : await t.download(); // another backend's GPU tensor
        sources.push({ input, host });
      }
    }
    return sources;
  }

  /**
   * Gives `plan` its inputs: device buffers of the plan's own size (feeds, or `given` by name) are bound where
   * they are (a KV cache is not copied every step), others copied or written. Returns how many feeds were bound.
   */
  private writeInputs(
    plan: Plan,
    sources: readonly InputSource[],
    given: ReadonlyMap<string, GPUBuffer>,
    encoder: GPUCommandEncoder,
  ): number {
    const { device } = this.engine;
    const direct = new Map(given);
    for (const s of sources)
      if (s.gpu && s.gpu.bytes === s.input.bytes) direct.set(s.input.name, s.gpu.buffer);
    const inPlace = plan.bindFeeds(direct);
    for (const { input, gpu, host } of sources) {
      if (inPlace.has(input.name)) continue;
      if (gpu) {
        // Same GPU representation for every dtype we accept as compatible: a plain copy suffices.
        encoder.copyBufferToBuffer(gpu.buffer, 0, input.buffer, 0, Math.min(gpu.bytes, input.bytes));
      } else if (host && sizeOf(host.dims) > 0) {
        // A float16 input holds float16 values: a float32 feed is rounded to them, as a float16 feed would be.
        const data = toGpuData(input.declared === 'float16' ? asFloatKind(host, 'float16') : host);
        device.queue.writeBuffer(input.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      }
    }
    for (const input of plan.inputs) {
      const buffer = given.get(input.name);
      if (buffer && !inPlace.has(input.name))
        encoder.copyBufferToBuffer(buffer, 0, input.buffer, 0, input.bytes);
    }
    return [...inPlace].filter((name) => !given.has(name)).length;
  }

  /** One run of `plan`: feeds uploaded or copied, one command encoder, outputs read back or kept. */
  private async execute(
    plan: Plan,
    feeds: Readonly<Record<string, Tensor>>,
    timed = false,
  ): Promise<Record<string, Tensor>> {
    const { device, pool } = this.engine;
    // The context plan runs only when a context input brings another tensor than the one its results hold.
    const prelude = plan.prelude;
    const contextNames = prelude?.inputs.map((i) => i.name) ?? [];
    const rerun = prelude !== undefined && !sameContext(contextNames, feeds, this.contextFed.get(prelude));
    const results = new Map(prelude?.outputs.map((o) => [o.name, o.buffer as GPUBuffer]) ?? []);
    // Everything that can fail or wait happens before the error scope opens, so scopes never interleave.
    const preludeSources = prelude && rerun ? await this.sourcesOf(prelude, feeds, new Map()) : [];
    const sources = await this.sourcesOf(plan, feeds, results);
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label: this.label });
    let inPlace = 0;
    if (prelude && rerun) {
      // Until this run succeeds, the results hold nothing anyone may reuse.
      this.contextFed.delete(prelude);
      inPlace += this.writeInputs(prelude, preludeSources, new Map(), encoder);
      prelude.encode(encoder);
    }
    inPlace += this.writeInputs(plan, sources, results, encoder);
    const timing = timed ? new DispatchTimer(device, plan.dispatchCount) : undefined;
    if (timing) plan.encodeTimed(encoder, timing.querySets, QUERIES_PER_SET);
    else plan.encode(encoder);
    timing?.resolve(encoder);
    const out: Record<string, Tensor> = {};
    const pending: [string, () => Promise<HostTensor>][] = [];
    let bytesRead = 0;
    for (const o of plan.outputs) {
      if (o.constant) {
        out[o.name] = o.constant;
      } else if (this.keepOnDevice.has(o.name)) {
        const buffer = pool.acquire(o.bytes, STORAGE_USAGE, `output ${o.name}`);
        encoder.copyBufferToBuffer(o.buffer as GPUBuffer, 0, buffer, 0, Math.max(4, o.bytes));
        out[o.name] = new WebGpuDeviceTensor(device, buffer, o.dtype, o.dims, o.bytes, pool);
      } else {
        bytesRead += o.bytes;
        pending.push([o.name, readBack(device, encoder, o.buffer as GPUBuffer, o.bytes, o.dtype, o.dims)]);
      }
    }
    device.queue.submit([encoder.finish()]);
    try {
      const error = await device.popErrorScope();
      if (error) throw new WebvlError('INTERNAL', `${this.label}: GPU validation error: ${error.message}`);
      for (const [name, read] of pending) out[name] = await read();
    } catch (e) {
      timing?.destroy(); // a run that fails before its times are read frees its queries
      throw e;
    }
    if (timing) {
      const ns = await timing.read();
      this.lastProfile = plan.origins.map((o, i) => ({
        op: o.step.op,
        node: o.step.name,
        program: o.program,
        ms: ns[i] / 1e6,
      }));
    }
    if (prelude && rerun) this.contextFed.set(prelude, new Map(contextNames.map((n) => [n, feeds[n]])));
    this.stats = {
      dispatches: plan.dispatchCount + (prelude && rerun ? prelude.dispatchCount : 0),
      bytesRead,
      feedsInPlace: inPlace,
      weightBytes: this.weightBytes,
    };
    this.lastPlan = plan;
    return out;
  }

  async release(): Promise<void> {
    await this.queue;
    this.released = true;
    for (const plan of this.plans.values()) plan.release();
    this.plans.clear();
    for (const cache of this.weights.values()) for (const b of cache.values()) b.destroy();
    this.weights.clear();
    this.weightBytes = 0;
    this.lastPlan = undefined;
  }
}

/**
 * When `graph`, with these steering values and known conditions, still has Ifs after inlining (conditions
 * computed from run-time data), a graph whose outputs are the conditions of those Ifs that no other If feeds;
 * undefined when every If is decided. Its plan runs before the model's, and the model's is built on what it
 * reads back, so each run costs one extra read-back of a few bytes.
 */
function conditionProbe(
  graph: Graph,
  values: ReadonlyMap<string, HostTensor>,
  conditions: ReadonlyMap<string, HostTensor>,
): Graph | undefined {
  const probe = cloneGraph(graph);
  bindInputValues(probe, values);
  inlineIfs(probe, conditions);
  const ifs = probe.nodes.filter((n) => n.opType === 'If');
  if (ifs.length === 0) return undefined;
  const made = producers(probe);
  const fedByIf = (value: string) => fedBy(made, value, (n) => n.opType === 'If');
  // In topological order the first If's condition depends on no If, so at least one is ready.
  const ready = [...new Set(ifs.map((n) => n.inputs[0]).filter((c) => !fedByIf(c)))];
  probe.outputs = ready.map((name) => ({ name, dtype: 'bool' }));
  eliminateDeadCode(probe);
  // The probe's own signature keeps every input, so the plan cache sees the same dims.
  probe.inputs = graph.inputs.filter((v) => !values.has(v.name));
  return probe;
}

/**
 * `graph` with the values in `known` as inputs: host ops all of whose outputs are known are dropped, and any
 * other producer of a known value writes a name nobody reads instead (dead code, unless it has other outputs).
 */
function cutAtHostValues(graph: Graph, known: ReadonlyMap<string, HostTensor>): Graph {
  const cut = cloneGraph(graph);
  cut.nodes = cut.nodes
    .filter((n) => !(isHostOp(n) && n.outputs.every((o) => !o || known.has(o))))
    .map((n) => ({ ...n, outputs: n.outputs.map((o) => (known.has(o) ? `${o}:cut` : o)) }));
  cut.inputs = [
    ...cut.inputs,
    // Their dims vary from run to run: each run's plan is specialized on them.
    ...[...known].map(([name, t]) => ({ name, dtype: t.dtype })),
  ];
  return cut;
}

/** The host ops of `graph` that no other host op feeds, however indirectly. */
function readyHostOps(graph: Graph): Node[] {
  const made = producers(graph);
  return graph.nodes.filter((n) => isHostOp(n) && !n.inputs.some((i) => i && fedBy(made, i, isHostOp)));
}

/** Whether a node that `matches` computes `value`, however indirectly (`made`: each value's producer). */
function fedBy(made: ReadonlyMap<string, Node>, value: string, matches: (n: Node) => boolean): boolean {
  const seen = new Set<string>();
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop() as string;
    const node = made.get(v);
    if (!node || seen.has(v)) continue;
    seen.add(v);
    if (matches(node)) return true;
    stack.push(...node.inputs.filter(Boolean));
  }
  return false;
}

/** The first `filled` slots of a past [B, H, capacity, D]: a device tensor copied on the GPU, a host one sliced. */
async function cutPast(engine: EngineDevice, t: Tensor, filled: number): Promise<Tensor> {
  const [b, h, capacity, d] = t.dims;
  if (filled === capacity) return t;
  const dims = [b, h, filled, d];
  if (t instanceof WebGpuDeviceTensor) {
    if (t.device !== engine.device)
      throw new WebvlError('INVALID_INPUT', 'a past lives on another GPU device');
    const bytes = b * h * filled * d * 4;
    const buffer = engine.pool.acquire(Math.max(4, bytes), STORAGE_USAGE, 'past cut');
    const encoder = engine.device.createCommandEncoder({ label: 'past cut' });
    copyPositions(
      encoder,
      { buffer: t.buffer, slots: capacity, at: 0 },
      { buffer, slots: filled, at: 0 },
      { rows: b * h, count: filled, width: d },
    );
    engine.device.queue.submit([encoder.finish()]);
    return new WebGpuDeviceTensor(engine.device, buffer, t.dtype, dims, bytes, engine.pool);
  }
  return firstPositions(t.location === 'cpu' ? t : await t.download(), filled); // another backend's GPU tensor
}

function padToWords(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}
