// Attention for a few query rows (decoding with a KV cache: Sq = 1, or short prefills). The tiled kernel
// (attention.wgsl) gives one thread per query row, which would leave one busy thread per workgroup here; this
// one gives each (batch, head, query row) a workgroup of WG threads that split the keys among themselves
// (thread t takes keys t, t + WG, …), each keeping its own online-softmax state (m, l, acc), and merges the WG
// partial states at the end: M = max m_t, out = Σ_t e^{m_t − M} acc_t / Σ_t e^{m_t − M} l_t.
// Same uniforms, bindings, key sources (attention-io.wgsl, attention-keys*.wgsl, prepended) and semantics as
// attention.wgsl. Placeholders: D (head size).
const D: u32 = {{D}}u;
const WG: u32 = 32u;

var<workgroup> part_m: array<f32, WG>;
var<workgroup> part_l: array<f32, WG>;
var<workgroup> part_acc: array<f32, WG * D>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x;
  let h = wid.y;
  let b = wid.z;

  var qr: array<f32, D>;
  var acc: array<f32, D>;
  for (var d = 0u; d < D; d++) {
    qr[d] = query_at(b, h, row, d);
    acc[d] = 0.0;
  }
  // The sink, if any, counts once: in thread 0's partial state.
  var m = select(LOWEST, start_max(h), lid == 0u);
  var l = select(0.0, start_sum(), lid == 0u);
  var end = u.sk;
  if (u.causal != 0u) {
    end = min(u.sk, u.past + row + 1u);
  }
  for (var j = first_visible_key(row) + lid; j < end; j += WG) {
    var s = 0.0;
    for (var d = 0u; d < D; d++) {
      s = fma(qr[d], key_at(b, h, j, d), s);
    }
    s = capped(s);
    if (u.has_mask != 0u) {
      s += mask_at(b, h, row, j);
    }
    if (s > m) {
      let corr = exp(m - s);
      l *= corr;
      for (var d = 0u; d < D; d++) {
        acc[d] *= corr;
      }
      m = s;
    }
    let p = exp(s - m);
    l += p;
    for (var d = 0u; d < D; d++) {
      acc[d] = fma(p, value_at(b, h, j, d), acc[d]);
    }
  }

  // Merge the WG partial states.
  part_m[lid] = m;
  workgroupBarrier();
  var big_m = LOWEST;
  for (var t = 0u; t < WG; t++) {
    big_m = max(big_m, part_m[t]);
  }
  // A thread that saw no keys (or only -inf scores) has l = 0 and contributes nothing.
  let w = select(0.0, exp(m - big_m), l > 0.0);
  part_l[lid] = l * w;
  for (var d = 0u; d < D; d++) {
    part_acc[lid * D + d] = acc[d] * w;
  }
  workgroupBarrier();
  var total_l = 0.0;
  for (var t = 0u; t < WG; t++) {
    total_l += part_l[t];
  }
  let inv = select(0.0, 1.0 / total_l, total_l > 0.0);
  for (var d = lid; d < D; d += WG) {
    var sum = 0.0;
    for (var t = 0u; t < WG; t++) {
      sum += part_acc[t * D + d];
    }
    write_out(b, h, row, d, sum * inv);
  }
}
