// Counts the GPU buffers alive on a device: created and not yet destroyed. Pooled buffers stay alive, so a
// tensor never given back to its pool shows as a pool that keeps creating buffers.
export interface LiveBuffers {
  /** Buffers created since counting began and not destroyed. */
  readonly count: number;
  /** Stops counting (createBuffer as it was). */
  restore(): void;
}

export function countLiveBuffers(device: GPUDevice): LiveBuffers {
  let live = 0;
  const create = device.createBuffer.bind(device);
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create(descriptor);
    live++;
    const destroy = buffer.destroy.bind(buffer);
    let gone = false;
    buffer.destroy = () => {
      if (!gone) live--;
      gone = true;
      return destroy();
    };
    return buffer;
  };
  return {
    get count() {
      return live;
    },
    restore() {
      device.createBuffer = create;
    },
  };
}

/**
 * The live-buffer count after two rounds of `round` (which build the plans and fill the pools every request
 * needs) and after two more: a flat count means nothing leaks.
 */
export async function liveBuffersOverRounds(
  device: GPUDevice,
  round: () => Promise<void>,
): Promise<{ warm: number; after: number }> {
  const live = countLiveBuffers(device);
  try {
    await round();
    await round();
    const warm = live.count;
    await round();
    await round();
    return { warm, after: live.count };
  } finally {
    live.restore();
  }
}
