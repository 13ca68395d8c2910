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
