// How the matmul kernels read B, four elements at a time (i indexes groups of four): float16 weights, four per
// two u32 words, widened to f32 on load (core builtin: no shader-f16 needed).
@group(0) @binding(1) var<storage, read> b: array<vec2<u32>>;

fn b4_at(i: u32) -> vec4<f32> {
  let w = b[i];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}
