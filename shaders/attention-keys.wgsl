// Where attention kernels read key j and value j of a (batch, query head): k and v alone (prepended after
// attention-io.wgsl by ops/attention.ts; attention-keys-tail.wgsl is the two-source form).
fn key_at(b: u32, h: u32, j: u32, d: u32) -> f32 {
  return k[u.k_start + b * u.k_strides.x + kv_head(h) * u.k_strides.y + j * u.k_strides.z + d * u.k_strides.w];
}

fn value_at(b: u32, h: u32, j: u32, d: u32) -> f32 {
  return v[u.v_start + b * u.v_strides.x + kv_head(h) * u.v_strides.y + j * u.v_strides.z + d * u.v_strides.w];
}
