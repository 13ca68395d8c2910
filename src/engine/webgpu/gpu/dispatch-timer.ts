// GPU time per dispatch from timestamp queries (profiles): two queries a dispatch, resolved into one buffer
// and read back after the run.

/** Queries per query set: WebGPU allows 4096 at most. */
export const QUERIES_PER_SET = 4096;

export class DispatchTimer {
  readonly querySets: GPUQuerySet[] = [];
  private readonly resolved: GPUBuffer;
  private readonly staging: GPUBuffer;

  constructor(
    device: GPUDevice,
    private readonly dispatches: number,
  ) {
    const queries = 2 * dispatches;
    for (let first = 0; first < queries; first += QUERIES_PER_SET)
      this.querySets.push(
        device.createQuerySet({ type: 'timestamp', count: Math.min(QUERIES_PER_SET, queries - first) }),
      );
    const bytes = Math.max(8, queries * 8);
    this.resolved = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    this.staging = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
  }

  /** Resolves every query set into the staging buffer (after the timed passes, in the same encoder). */
  resolve(encoder: GPUCommandEncoder): void {
    this.querySets.forEach((set, i) => {
      encoder.resolveQuerySet(set, 0, set.count, this.resolved, i * QUERIES_PER_SET * 8);
    });
    encoder.copyBufferToBuffer(this.resolved, 0, this.staging, 0, this.staging.size);
  }

  /** Nanoseconds per dispatch (end − start of its pass); frees the queries and buffers. */
  async read(): Promise<Float64Array> {
    try {
      await this.staging.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(this.staging.getMappedRange().slice(0));
      this.staging.unmap();
      return Float64Array.from({ length: this.dispatches }, (_, i) =>
        stamps[2 * i + 1] >= stamps[2 * i] ? Number(stamps[2 * i + 1] - stamps[2 * i]) : 0,
      );
    } finally {
      this.destroy();
    }
  }

  /** Frees the queries and buffers (read() does; a run that failed before reading calls it). */
  destroy(): void {
    for (const set of this.querySets) set.destroy();
    this.resolved.destroy();
    this.staging.destroy();
  }
}
