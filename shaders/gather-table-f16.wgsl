// How gather.wgsl reads a float16 table kept half (passes/keep-half-weights.ts): two elements per u32 word (element
// 2j in the low half), widened to f32 with a core builtin, so no shader-f16 is needed. The output holds f32 words.
@group(0) @binding(0) var<storage, read> data: array<u32>;

fn table_word(e: u32) -> u32 {
  return bitcast<u32>(unpack2x16float(data[e >> 1u])[e & 1u]);
}
