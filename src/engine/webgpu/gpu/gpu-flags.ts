// WebGPU flag values (from the spec) as plain numbers, so modules can be imported where the GPU* globals
// are not installed yet (Node before the `webgpu` package sets them, workers without WebGPU).
export const BUFFER_MAP_READ = 0x0001;
export const BUFFER_COPY_SRC = 0x0004;
export const BUFFER_COPY_DST = 0x0008;
export const BUFFER_UNIFORM = 0x0040;
export const BUFFER_STORAGE = 0x0080;
export const MAP_MODE_READ = 0x0001;
