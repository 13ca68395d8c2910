// Uniforms and bindings shared by attention.wgsl, attention-decode.wgsl and attention-f16.wgsl (prepended to
// each by ops/attention.ts, with attention-keys.wgsl or attention-keys-tail.wgsl after it). Every tensor is
// addressed as start + b·s0 + h·s1 + s·s2 + d·s3. Placeholders: SINK and UNIFORM (the attention sinks' and the
// uniform's bindings, after the storage bindings the key source declares).
// Lowest finite f32: the initial running max. A score of -inf (an -inf mask) never becomes the max and gets
// weight exp(-inf) = 0; a row with only -inf scores ends with l = 0 and writes 0.
const LOWEST: f32 = -3.4028234663852886e38;

struct Params {
  batch: u32,
  heads: u32,
  sq: u32,
  sk: u32,
  past: u32,
  causal: u32,
  has_mask: u32,
  scale: f32,
  q_start: u32,
  k_start: u32,
  v_start: u32,
  o_start: u32,
  q_strides: vec4<u32>,
  k_strides: vec4<u32>,
  v_strides: vec4<u32>,
  o_strides: vec4<u32>,
  m_strides: vec4<u32>,
  m_start: u32,
  /** Query heads per key/value head (grouped-query attention; 1 for plain multi-head). */
  kv_group: u32,
  /** Keys read from k/v; keys from `split` on come from k_tail/v_tail (attention-keys-tail.wgsl). */
  split: u32,
  /** GroupQueryAttention's softcap c: scores become c·tanh(s / c) before the mask and softmax; 0: none. */
  softcap: f32,
  kt_start: u32,
  vt_start: u32,
  /** A causal sliding window W: each query row sees its own key and the W − 1 before it; 0: no window. */
  window: u32,
  /** 1: an attention sink per query head in `sink` (a virtual key of that score and no value); 0: none. */
  has_sinks: u32,
  kt_strides: vec4<u32>,
  vt_strides: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding({{SINK}}) var<storage, read> sink: array<f32>;
@group(0) @binding({{UNIFORM}}) var<uniform> u: Params;

/**
 * The running max before any key: head h's attention sink (GroupQueryAttention's smooth softmax and
 * head_sink: a virtual key whose score joins every row's softmax and whose value is zero), or LOWEST.
 */
fn start_max(h: u32) -> f32 {
  if (u.has_sinks != 0u) {
    return sink[h];
  }
  return LOWEST;
}

/** The running sum before any key: the sink's weight exp(sink − max) at max = sink, or 0. */
fn start_sum() -> f32 {
  return select(0.0, 1.0, u.has_sinks != 0u);
}

/** The key/value head query head `h` reads (GQA: query heads share a key/value head in groups). */
fn kv_head(h: u32) -> u32 {
  return h / max(u.kv_group, 1u);
}

/** Keys that query rows before `rows_end` may see: all of them, or up to past + row when causal. */
fn visible_keys(rows_end: u32) -> u32 {
  if (u.causal != 0u) {
    return min(u.sk, u.past + min(rows_end, u.sq));
  }
  return u.sk;
}

/** The first key query row `row` may see: 0, or under a causal window the W − 1 keys before its own. */
fn first_visible_key(row: u32) -> u32 {
  let own = u.past + row;
  if (u.causal != 0u && u.window > 0u && own + 1u > u.window) {
    return own + 1u - u.window;
  }
  return 0u;
}

/** A score after the softcap, if any (u.softcap). */
fn capped(s: f32) -> f32 {
  if (u.softcap > 0.0) {
    return u.softcap * tanh(s / u.softcap);
  }
  return s;
}

/** Element d of query row `row` of (b, h), pre-scaled. */
fn query_at(b: u32, h: u32, row: u32, d: u32) -> f32 {
  return q[u.q_start + b * u.q_strides.x + h * u.q_strides.y + row * u.q_strides.z + d * u.q_strides.w] * u.scale;
}

/** Writes element d of output row `row` of (b, h). */
fn write_out(b: u32, h: u32, row: u32, d: u32, value: f32) {
  out[u.o_start + b * u.o_strides.x + h * u.o_strides.y + row * u.o_strides.z + d * u.o_strides.w] = value;
}

/** The additive mask for query row `row` of (b, h) and key j (the mask broadcasts through zero strides). */
fn mask_at(b: u32, h: u32, row: u32, j: u32) -> f32 {
  return mask[u.m_start + b * u.m_strides.x + h * u.m_strides.y + row * u.m_strides.z + j * u.m_strides.w];
}
