// Uniforms, the bias/out bindings, batch addressing and the epilogue shared by matmul.wgsl, matmul-tiled.wgsl and
// gemv.wgsl (prepended by ops/matmul.ts, after activations.wgsl).
struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch_rank: u32,
  alpha: f32,
  trans_b: u32,
  /** 0 none, 1 bias added before the activation, 2 a gate of the output's dims multiplied after it. */
  has_bias: u32,
  /** 0 none, 1 relu, 2 gelu-erf, 3 gelu-tanh, 4 quick-gelu, 5 silu. */
  act: u32,
  bias_len: u32,
  /** gemv-splitk.wgsl: K chunks, and k per chunk (0 and unused elsewhere). */
  splits: u32,
  chunk: u32,
  /** Gemm's beta: multiplies the bias. */
  beta: f32,
  batch_dims: array<vec4<u32>, 2>,
  a_batch_strides: array<vec4<u32>, 2>,
  b_batch_strides: array<vec4<u32>, 2>,
  /** Element strides of the bias along rows (x) and columns (y): [N] is (0, 1), [M, N] (N, 1), [M, 1] (1, 0). */
  bias_strides: vec4<u32>,
}

@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

/** Element offsets of batch `z`'s A (x) and B (y) (broadcast batch dims have stride 0). */
fn batch_bases(z: u32) -> vec2<u32> {
  var rem = z;
  var bases = vec2<u32>(0u);
  for (var i = 0u; i < u.batch_rank; i++) {
    let d = u.batch_rank - 1u - i;
    let dim = at8(u.batch_dims, d);
    let c = rem % dim;
    rem /= dim;
    bases += c * vec2<u32>(at8(u.a_batch_strides, d), at8(u.b_batch_strides, d));
  }
  return bases;
}

/**
 * alpha, beta · bias (any broadcast of [M, N]) and the fused activation, applied to output (m, n) at flat index o;
 * or, with a gate bound instead of the bias, the activation times the gate's element o (SwiGLU: up · silu(gate)).
 */
fn epilogue(v: f32, m: u32, n: u32, o: u32) -> f32 {
  var r = v * u.alpha;
  if (u.has_bias == 1u) {
    r += u.beta * bias[m * u.bias_strides.x + n * u.bias_strides.y];
  }
  r = activate_code(u.act, r);
  if (u.has_bias == 2u) {
    r *= bias[o];
  }
  return r;
}
