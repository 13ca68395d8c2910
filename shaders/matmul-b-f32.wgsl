// How the matmul kernels read B, element by element: float32 storage.
@group(0) @binding(1) var<storage, read> b: array<f32>;

fn b_at(i: u32) -> f32 {
  return b[i];
}
