// Barrier-free matmul for software adapters (SwiftShader emulates workgroup barriers with coroutine switches,
// which cost more than the arithmetic): out[b, m, n] = act(alpha · Σk A[b, m, k]·B[b, k, n] + bias[n]).
// Each invocation computes a 4×4 output block straight from global memory (no workgroup memory), still reusing
// every loaded A and B value four times. Shared by matmul-direct-scalar.wgsl and matmul-direct-vec4.wgsl,
// which declare the bindings and `compute_block`; activations.wgsl is prepended. Batch dims (up to 4) are broadcast
// through per-batch element offsets (stride 0 where an operand is broadcast).
struct Params {
  m: u32,
  n: u32,
  k: u32,
  batch: u32,
  bdims: vec4<u32>,
  astr: vec4<u32>,
  bstr: vec4<u32>,
  alpha: f32,
  blocks_n: u32,
  blocks_m: u32,
  _pad: u32,
}

fn activate(x: f32) -> f32 {
  {{ACT}}
}

// Invocation t computes the 4×4 block (bm, bn) of batch entry `batch`; compute_block (in the scalar or vec4
// file) reads A from element aoff and B from element boff.
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = group_id(wid, groups) * 64u + lid;
  let per_batch = u.blocks_n * u.blocks_m;
  let batch = t / per_batch;
  if (batch >= u.batch) {
    return;
  }
  var rem = batch;
  var aoff = 0u;
  var boff = 0u;
  for (var d = 3i; d >= 0; d--) {
    let size = u.bdims[d];
    let idx = rem % size;
    rem = rem / size;
    aoff += idx * u.astr[d];
    boff += idx * u.bstr[d];
  }
  compute_block(batch, t % u.blocks_n, (t / u.blocks_n) % u.blocks_m, aoff, boff);
}
