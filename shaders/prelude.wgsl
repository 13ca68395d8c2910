// Index helpers every kernel may use: the pipeline cache (src/engine/webgpu/gpu/wgsl-prelude.ts) splices this
// file into every module, after its `enable` directives.

/** This workgroup's index in a 1-D grid folded onto x and y (ops/common.ts grid1d). */
fn group_id(wid: vec3<u32>, groups: vec3<u32>) -> u32 {
  return wid.y * groups.x + wid.x;
}

/** Element d of up to eight values packed as two vec4s (dims and strides of rank ≤ 8 in a uniform block). */
fn at8(v: array<vec4<u32>, 2>, d: u32) -> u32 {
  return v[d / 4u][d % 4u];
}

fn at8i(v: array<vec4<i32>, 2>, d: u32) -> i32 {
  return v[d / 4u][d % 4u];
}

/** base + the element offset of row-major linear index i over (dims, strides), the last axis fastest. */
fn strided_offset(i: u32, base: u32, rank: u32, dims: array<vec4<u32>, 2>, strides: array<vec4<u32>, 2>) -> u32 {
  var rem = i;
  var at = base;
  for (var k = 0u; k < rank; k++) {
    let d = rank - 1u - k;
    let dim = at8(dims, d);
    at += (rem % dim) * at8(strides, d);
    rem /= dim;
  }
  return at;
}

/** Element i of a tensor [..., d.x, d.y, d.z]: its last three coordinates, then (in w) the index of its plane. */
fn coords3(i: u32, d: vec4<u32>) -> vec4<u32> {
  return vec4<u32>((i / (d.y * d.z)) % d.x, (i / d.z) % d.y, i % d.z, i / (d.x * d.y * d.z));
}
