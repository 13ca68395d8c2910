// Scalar activation helpers shared by unary, matmul, gemv and conv2d (prepended to those programs).

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, below f32 resolution near 1). WGSL has no erf.
fn erf_f32(x: f32) -> f32 {
  let ax = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * ax);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  let y = 1.0 - poly * exp(-ax * ax);
  return select(y, -y, x < 0.0);
}

// tanh through clamping: some drivers compute tanh from exp and overflow to NaN for |x| > ~44.
fn tanh_f32(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}

fn sigmoid_f32(x: f32) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}

fn gelu_erf(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * 0.7071067811865476));
}

fn gelu_tanh(x: f32) -> f32 {
  return 0.5 * x * (1.0 + tanh_f32(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

fn quick_gelu(x: f32) -> f32 {
  return x * sigmoid_f32(1.702 * x);
}

// The fused activation of matmul, gemv and conv2d, chosen by a uniform code (one pipeline serves them all):
// 0 none, 1 relu, 2 gelu-erf, 3 gelu-tanh, 4 quick-gelu.
fn activate_code(code: u32, v: f32) -> f32 {
  switch code {
    case 1u: {
      return max(v, 0.0);
    }
    case 2u: {
      return gelu_erf(v);
    }
    case 3u: {
      return gelu_tanh(v);
    }
    case 4u: {
      return quick_gelu(v);
    }
    default: {
      return v;
    }
  }
}
