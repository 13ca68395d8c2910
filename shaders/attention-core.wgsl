// Fused attention, one invocation per (batch, head, query): scores against every key with an online softmax
// (running max and sum), so no Sq×Sk matrix is ever stored. Q/K/V/out are strided 4-D views [B, H, S, D];
// the additive mask is broadcast by its own strides (0 on broadcast dims). Causal: query i sees keys
// 0 … past + i.
struct Params {
  b: u32,
  h: u32,
  sq: u32,
  sk: u32,
  d: u32,
  dv: u32,
  causal: u32,
  past: u32,
  qs: vec4<u32>,
  ks: vec4<u32>,
  vs: vec4<u32>,
  os: vec4<u32>,
  ms: vec4<u32>,
  starts: vec4<u32>,
  scale: f32,
  _p0: u32,
  _p1: u32,
  _p2: u32,
}

@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
{{DECLS}}

const MAX_D: u32 = 128u;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let idx = (wid.y * groups.x + wid.x) * 64u + lid;
  if (idx >= u.b * u.h * u.sq) {
    return;
  }
  let i = idx % u.sq;
  let hh = (idx / u.sq) % u.h;
  let bb = idx / (u.sq * u.h);
  let qbase = u.starts.x + bb * u.qs.x + hh * u.qs.y + i * u.qs.z;
  var acc: array<f32, MAX_D>;
  for (var d = 0u; d < u.dv; d++) {
    acc[d] = 0.0;
  }
  var running_max = -3.4028234663852886e38;
  var denom = 0.0;
  var last = u.sk;
  if (u.causal == 1u) {
    last = min(u.sk, u.past + i + 1u);
  }
  for (var j = 0u; j < last; j++) {
    let kbase = u.starts.y + bb * u.ks.x + hh * u.ks.y + j * u.ks.z;
    var s = 0.0;
    for (var d = 0u; d < u.d; d++) {
      s += q[qbase + d * u.qs.w] * k[kbase + d * u.ks.w];
    }
    s = s * u.scale{{MASK}};
    let new_max = max(running_max, s);
    let correction = exp(running_max - new_max);
    let p = exp(s - new_max);
    denom = denom * correction + p;
    let vbase = u.starts.z + bb * u.vs.x + hh * u.vs.y + j * u.vs.z;
    for (var d = 0u; d < u.dv; d++) {
      acc[d] = acc[d] * correction + p * v[vbase + d * u.vs.w];
    }
    running_max = new_max;
  }
  let obase = u.starts.w + bb * u.os.x + hh * u.os.y + i * u.os.z;
  let inv = select(0.0, 1.0 / denom, denom > 0.0);
  for (var d = 0u; d < u.dv; d++) {
    out[obase + d * u.os.w] = acc[d] * inv;
  }
}
