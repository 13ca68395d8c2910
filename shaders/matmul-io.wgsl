// Uniforms and the bias/out bindings shared by matmul.wgsl and gemv.wgsl (prepended by ops/matmul.ts).
struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch_rank: u32,
  alpha: f32,
  trans_b: u32,
  has_bias: u32,
  /** 0 none, 1 relu, 2 gelu-erf, 3 gelu-tanh, 4 quick-gelu; bias_len 1 broadcasts a scalar bias. */
  act: u32,
  bias_len: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  batch_dims: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;
