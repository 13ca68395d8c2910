// onnxruntime's LinearAttention (ops/linear-attention.ts): the recurrent state S [dk, dv] of each (batch, state head)
// walked token by token. Column c of S evolves alone under every update rule, so one thread owns one column, kept
// in registers (DK values) for the whole sequence, and no thread waits on another:
//   gate (gated, gated_delta):  S ← exp(g) ⊙ S          (g per head, or per key dimension: one factor per row)
//   delta (delta, gated_delta): S ← S + β k ⊗ (v − Sᵀk), otherwise S ← S + k ⊗ v
//   output: o = scale · qᵀS for each query head that reads this state head.
// Placeholders: DK (key width), GATED and DELTA (0 or 1).
struct Params {
  batch: u32,
  steps: u32,
  q_heads: u32,
  kv_heads: u32,
  key_heads: u32,
  dv: u32,
  has_past: u32,
  // 1: decay is [B, T, kv_heads · dk]; 0: [B, T, kv_heads].
  decay_per_key: u32,
  // 1: beta is [B, T, 1]; 0: [B, T, kv_heads].
  beta_shared: u32,
  scale: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read> query: array<f32>;
@group(0) @binding(1) var<storage, read> key: array<f32>;
@group(0) @binding(2) var<storage, read> value: array<f32>;
@group(0) @binding(3) var<storage, read> past: array<f32>;
@group(0) @binding(4) var<storage, read> decay: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> present: array<f32>;
@group(0) @binding(8) var<uniform> u: Params;

const DK: u32 = {{DK}}u;
const GATED: bool = {{GATED}} == 1;
const DELTA: bool = {{DELTA}} == 1;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let id = group_id(wid, groups) * 64u + lid;
  if (id >= u.batch * u.kv_heads * u.dv) {
    return;
  }
  let c = id % u.dv;
  let j = (id / u.dv) % u.kv_heads;
  let b = id / (u.dv * u.kv_heads);
  let state_at = (b * u.kv_heads + j) * DK * u.dv + c;
  var s: array<f32, DK>;
  for (var i = 0u; i < DK; i++) {
    s[i] = select(0.0, past[state_at + i * u.dv], u.has_past == 1u);
  }
  let key_head = j / (u.kv_heads / u.key_heads);
  // The query heads this state head answers: a group of them (more query heads), or one shared query head.
  let wide = u.q_heads >= u.kv_heads;
  let readers = select(1u, u.q_heads / u.kv_heads, wide);
  let first_query = select(j / (u.kv_heads / u.q_heads), j * readers, wide);
  let slots = max(u.q_heads, u.kv_heads);
  for (var t = 0u; t < u.steps; t++) {
    let row = b * u.steps + t;
    let k_at = (row * u.key_heads + key_head) * DK;
    if (GATED) {
      if (u.decay_per_key == 1u) {
        for (var i = 0u; i < DK; i++) {
          s[i] *= exp(decay[(row * u.kv_heads + j) * DK + i]);
        }
      } else {
        let factor = exp(decay[row * u.kv_heads + j]);
        for (var i = 0u; i < DK; i++) {
          s[i] *= factor;
        }
      }
    }
    var update = value[(row * u.kv_heads + j) * u.dv + c];
    if (DELTA) {
      var recalled = 0.0;
      for (var i = 0u; i < DK; i++) {
        recalled += s[i] * key[k_at + i];
      }
      update = beta[select(row * u.kv_heads + j, row, u.beta_shared == 1u)] * (update - recalled);
    }
    for (var i = 0u; i < DK; i++) {
      s[i] += key[k_at + i] * update;
    }
    for (var r = 0u; r < readers; r++) {
      let h = first_query + r;
      let q_at = (row * u.q_heads + h) * DK;
      var o = 0.0;
      for (var i = 0u; i < DK; i++) {
        o += query[q_at + i] * s[i];
      }
      let slot = select(j, h, wide);
      out[(row * slots + slot) * u.dv + c] = u.scale * o;
    }
  }
  for (var i = 0u; i < DK; i++) {
    present[state_at + i * u.dv] = s[i];
  }
}
