// onnxruntime's CausalConvWithState (ops/linear-attention.ts): a depthwise convolution along time that sees only the
// past, over the virtual input [past state (STATE positions), x (T positions)]. One thread per virtual position
// u ≥ STATE of a (batch, channel): u - STATE < T computes output t = u - STATE (taps at u - (K-1-j)·dilation);
// the last STATE virtual positions are also copied out as the next call's state (thread u writes slot
// u - T when u ≥ T). Activations [B, C, T] and states [B, C, STATE], or channels-last [B, T, C] and [B, STATE, C].
struct Params {
  batch: u32,
  channels: u32,
  steps: u32,
  kernel: u32,
  dilation: u32,
  has_past: u32,
  has_bias: u32,
  silu: u32,
  channels_last: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> past: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> present: array<f32>;
@group(0) @binding(6) var<uniform> u: Params;

fn state_len() -> u32 {
  return (u.kernel - 1u) * u.dilation;
}

fn x_index(b: u32, c: u32, t: u32) -> u32 {
  return select((b * u.channels + c) * u.steps + t, (b * u.steps + t) * u.channels + c, u.channels_last == 1u);
}

fn state_index(b: u32, c: u32, s: u32) -> u32 {
  let n = state_len();
  return select((b * u.channels + c) * n + s, (b * n + s) * u.channels + c, u.channels_last == 1u);
}

fn virtual_input(b: u32, c: u32, at: u32) -> f32 {
  let n = state_len();
  if (at < n) {
    return select(0.0, past[state_index(b, c, at)], u.has_past == 1u);
  }
  return x[x_index(b, c, at - n)];
}

@compute @workgroup_size(256)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) groups: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let id = group_id(wid, groups) * 256u + lid;
  let n = state_len();
  // Virtual positions n .. n + T - 1 per (batch, channel).
  if (id >= u.batch * u.channels * u.steps) {
    return;
  }
  let t = id % u.steps;
  let c = (id / u.steps) % u.channels;
  let b = id / (u.steps * u.channels);
  let at = n + t;
  var sum = select(0.0, bias[c], u.has_bias == 1u);
  for (var j = 0u; j < u.kernel; j++) {
    sum += weight[c * u.kernel + j] * virtual_input(b, c, at - (u.kernel - 1u - j) * u.dilation);
  }
  if (u.silu == 1u) {
    sum = sum / (1.0 + exp(-sum));
  }
  y[x_index(b, c, t)] = sum;
  // The next state: virtual positions T .. T + n - 1. Position T + s is written by the thread of time step
  // s (s < n, s < T), or, when T < n, by thread T - 1 for the positions that still come from the past state.
  if (t < n) {
    present[state_index(b, c, t)] = virtual_input(b, c, u.steps + t);
  }
  if (t == u.steps - 1u) {
    for (var s = u.steps; s < n; s++) {
      present[state_index(b, c, s)] = virtual_input(b, c, u.steps + s);
    }
  }
}
