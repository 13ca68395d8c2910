// How the matmul kernels read B, element by element: float16 weights, two per u32 word (element 2j in the low
// half). Widened to f32 on load with a core builtin, so no shader-f16 is needed and the arithmetic stays f32.
@group(0) @binding(1) var<storage, read> b: array<u32>;

fn b_at(i: u32) -> f32 {
  return unpack2x16float(b[i >> 1u])[i & 1u];
}
