// Keys and values from two sources: j < split from k/v (a KV cache, read in place), the rest from k_tail/v_tail
// (this step's keys, e.g. still in their projection's [B, S, H·D] layout). The cache is never concatenated with
// the new keys. Same functions as attention-keys.wgsl.
@group(0) @binding(5) var<storage, read> k_tail: array<f32>;
@group(0) @binding(6) var<storage, read> v_tail: array<f32>;

fn key_at(b: u32, h: u32, j: u32, d: u32) -> f32 {
  let kh = kv_head(h);
  if (j < u.split) {
    return k[u.k_start + b * u.k_strides.x + kh * u.k_strides.y + j * u.k_strides.z + d * u.k_strides.w];
  }
  let t = j - u.split;
  return k_tail[u.kt_start + b * u.kt_strides.x + kh * u.kt_strides.y + t * u.kt_strides.z + d * u.kt_strides.w];
}

fn value_at(b: u32, h: u32, j: u32, d: u32) -> f32 {
  let kh = kv_head(h);
  if (j < u.split) {
    return v[u.v_start + b * u.v_strides.x + kh * u.v_strides.y + j * u.v_strides.z + d * u.v_strides.w];
  }
  let t = j - u.split;
  return v_tail[u.vt_start + b * u.vt_strides.x + kh * u.vt_strides.y + t * u.vt_strides.z + d * u.vt_strides.w];
}
