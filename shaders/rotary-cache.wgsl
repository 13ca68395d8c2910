// Rotary position embedding from cos/sin caches indexed by position (com.microsoft RotaryEmbedding, and
// GroupQueryAttention's do_rotary): x is [B, S, H·D] (heads_first 0) or [B, H, S, D] (heads_first 1); the first
// `rotary_dim` values of each head rotate, the rest are copied, and heads from `rotated_heads` on are copied
// whole (the values of a packed QKV). A token's angle row is cos/sin[pos · rotary_dim / 2 …], its position
// positions[b · S + s] (format 1) or positions[0] + s (format 0), clamped into the cache; multimodal rotary
// (com.microsoft MRotaryEmbedding, format 2) reads one of three position streams [3, B, S] per angle c: the
// sections of mrope_section in turn (layout 0), or the temporal stream with every third angle from 1 taken from
// the height stream and from 2 from the width one, within 3 · their sections (layout 1, interleaved); caches with a
// row per token (opset 23's RotaryEmbedding without position ids, format 3) are read at row b · S + s. Pairs are
// (i, i + rotary_dim / 2) in the rotate-half form, (2i, 2i + 1) interleaved:
// out_first = x_first · cos − x_second · sin, out_second = x_second · cos + x_first · sin.
struct Params {
  n: u32,
  heads: u32,
  seq: u32,
  head_size: u32,
  rotary_dim: u32,
  rotated_heads: u32,
  heads_first: u32,
  interleaved: u32,
  pos_format: u32,
  cache_rows: u32,
  // Multimodal rotary (format 2): the three sections and their layout.
  section_t: u32,
  section_h: u32,
  section_w: u32,
  mrope_layout: u32,
  // Batch rows of a position stream.
  batch_rows: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> cos_cache: array<f32>;
@group(0) @binding(2) var<storage, read> sin_cache: array<f32>;
@group(0) @binding(3) var<storage, read> positions: array<i32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<uniform> u: Params;

/** Which position stream (0 temporal, 1 height, 2 width) angle c of a multimodal rotary reads. */
fn mrope_stream(c: u32) -> u32 {
  if (u.mrope_layout == 1u) {
    if (c % 3u == 1u && c < 3u * u.section_h) {
      return 1u;
    }
    if (c % 3u == 2u && c < 3u * u.section_w) {
      return 2u;
    }
    return 0u;
  }
  return select(select(2u, 1u, c < u.section_t + u.section_h), 0u, c < u.section_t);
}

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = group_id(wid, groups) * 256u + lid;
  if (i >= u.n) {
    return;
  }
  let d = i % u.head_size;
  let t = i / u.head_size;
  var h: u32;
  var s: u32;
  var b: u32;
  if (u.heads_first == 0u) {
    h = t % u.heads;
    s = (t / u.heads) % u.seq;
    b = t / (u.heads * u.seq);
  } else {
    s = t % u.seq;
    h = (t / u.seq) % u.heads;
    b = t / (u.seq * u.heads);
  }
  if (d >= u.rotary_dim || h >= u.rotated_heads) {
    out[i] = x[i];
    return;
  }
  let half = u.rotary_dim / 2u;
  var c: u32;
  var partner: u32;
  var first: bool;
  if (u.interleaved != 0u) {
    c = d / 2u;
    first = d % 2u == 0u;
    partner = select(d - 1u, d + 1u, first);
  } else {
    c = d % half;
    first = d < half;
    partner = select(d - half, d + half, first);
  }
  var pos = select(positions[0] + i32(s), positions[b * u.seq + s], u.pos_format == 1u);
  if (u.pos_format == 2u) {
    pos = positions[(mrope_stream(c) * u.batch_rows + b) * u.seq + s];
  } else if (u.pos_format == 3u) {
    pos = i32(b * u.seq + s);
  }
  pos = clamp(pos, 0, i32(u.cache_rows) - 1);
  let at = u32(pos) * half + c;
  let other = x[i - d + partner];
  out[i] = x[i] * cos_cache[at] + select(other, -other, first) * sin_cache[at];
}
