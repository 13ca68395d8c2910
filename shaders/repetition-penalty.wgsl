// transformers' repetition penalty over a generation step's logits [rows, vocab]: a token the sequence already
// holds (its bit set in the row's bitset of 32-token words; tokens past the bitset are not held) has its logit
// divided by the row's penalty where positive, multiplied where negative; every other logit is copied. One thread
// per logit.
struct Params {
  rows: u32,
  vocab: u32,
  // Bitset words per row.
  words: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> seen: array<u32>;
@group(0) @binding(2) var<storage, read> penalty: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.rows * u.vocab) {
    return;
  }
  let row = i / u.vocab;
  let token = i % u.vocab;
  let x = logits[i];
  let word = token / 32u;
  let held = select(0u, (seen[row * u.words + min(word, u.words - 1u)] >> (token % 32u)) & 1u, word < u.words);
  let p = penalty[row];
  out[i] = select(x, select(x / p, x * p, x < 0.0), held == 1u);
}
