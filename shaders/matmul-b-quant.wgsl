// How the matmul kernels read a quantized B (passes/pack-quantized.ts): B is [N, K] (transposed), one packed
// tensor of u32 words: a scale per block of BLOCK along K (f32, or two f16 a word when HALF_SCALES is 1), then
// one zero-point byte per block (none when every block has UNIFORM_ZERO_POINT; 256 means per block), then the
// BITS-bit codes, row-major, low bits first. b_at(i) / b4_at(i) (i
// indexing elements / groups of four along K) dequantize on load: (code − zero point) · scale, in f32.
const QK: u32 = {{K}}u;
const BLOCK: u32 = {{BLOCK}}u;
const BLOCKS_PER_ROW: u32 = {{BLOCKS_PER_ROW}}u;
const ZERO_POINT_WORD: u32 = {{ZERO_POINT_WORD}}u;
const CODE_WORD: u32 = {{CODE_WORD}}u;
const BITS: u32 = {{BITS}}u;
const CODES_PER_WORD: u32 = 32u / BITS;
const MASK: u32 = (1u << BITS) - 1u;
const HALF_SCALES: u32 = {{HALF_SCALES}}u;
const UNIFORM_ZERO_POINT: u32 = {{UNIFORM_ZERO_POINT}}u;

@group(0) @binding(1) var<storage, read> b: array<u32>;

fn block_of(i: u32) -> u32 {
  return (i / QK) * BLOCKS_PER_ROW + (i % QK) / BLOCK;
}

fn zero_point(blk: u32) -> f32 {
  if (UNIFORM_ZERO_POINT < 256u) {
    return f32(UNIFORM_ZERO_POINT);
  }
  return f32((b[ZERO_POINT_WORD + blk / 4u] >> ((blk % 4u) * 8u)) & 255u);
}

fn scale_of(blk: u32) -> f32 {
  if (HALF_SCALES == 1u) {
    return unpack2x16float(b[blk / 2u])[blk % 2u];
  }
  return bitcast<f32>(b[blk]);
}

fn b_at(i: u32) -> f32 {
  let blk = block_of(i);
  let code = (b[CODE_WORD + i / CODES_PER_WORD] >> ((i % CODES_PER_WORD) * BITS)) & MASK;
  return (f32(code) - zero_point(blk)) * scale_of(blk);
}

// Four consecutive k of one row: one block (BLOCK and K are multiples of 4), one u32 for 8-bit codes, half of
// one for 4-bit.
fn b4_at(i4: u32) -> vec4<f32> {
  let i = i4 * 4u;
  let blk = block_of(i);
  let word = b[CODE_WORD + i / CODES_PER_WORD] >> ((i % CODES_PER_WORD) * BITS);
  let codes = vec4<f32>(
    f32(word & MASK),
    f32((word >> BITS) & MASK),
    f32((word >> (2u * BITS)) & MASK),
    f32((word >> (3u * BITS)) & MASK),
  );
  return (codes - zero_point(blk)) * scale_of(blk);
}
