// A key/value cache after a step (GroupQueryAttention's present_key / present_value): per batch row b, the
// first `pb` positions come from the past, the step's S new rows follow at pb, and the rest of the T positions
// are zero. pb = 0 on a first prompt, else seqlens[b] + 1 − S (onnxruntime's seqlens_k holds each row's total
// length − 1, so right-padded batches append where each row's own sequence ends), clamped so the new rows fit.
// past is [B, H, P, D] contiguous; the new rows are read through element strides (start + b·s0 + h·s1 + s·s2
// + d·s3), so they may sit in a [B, S, H·D] projection or a packed QKV without a transpose; out is
// [B, H, T, D].
struct Params {
  n: u32,
  heads: u32,
  total: u32,
  head_size: u32,
  seq: u32,
  past_len: u32,
  first: u32,
  fresh_start: u32,
  fresh_strides: vec4<u32>,
}

@group(0) @binding(0) var<storage, read> past: array<f32>;
@group(0) @binding(1) var<storage, read> fresh: array<f32>;
@group(0) @binding(2) var<storage, read> seqlens: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

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
  let t = (i / u.head_size) % u.total;
  let h = (i / (u.head_size * u.total)) % u.heads;
  let b = i / (u.head_size * u.total * u.heads);
  var pb = 0u;
  if (u.first == 0u) {
    pb = u32(clamp(seqlens[b] + 1 - i32(u.seq), 0, i32(u.total - u.seq)));
  }
  var value = 0.0;
  if (t < pb) {
    if (t < u.past_len) {
      value = past[((b * u.heads + h) * u.past_len + t) * u.head_size + d];
    }
  } else if (t < pb + u.seq) {
    let s = u.fresh_strides;
    value = fresh[u.fresh_start + b * s.x + h * s.y + (t - pb) * s.z + d * s.w];
  }
  out[i] = value;
}
