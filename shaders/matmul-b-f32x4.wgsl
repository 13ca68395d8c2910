// How the matmul kernels read B, four elements at a time (i indexes vec4s): float32 storage.
@group(0) @binding(1) var<storage, read> b: array<vec4<f32>>;

fn b4_at(i: u32) -> vec4<f32> {
  return b[i];
}
