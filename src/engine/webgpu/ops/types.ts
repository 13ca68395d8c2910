// Parameter types of our kernels (see ./index.ts for the functions and the GPU dtype conventions).
import type { ResampleTaps } from '../../pixels';
import type { GpuView } from '../plan/kernel-context';

/** Epilogue activations that matmul/linear can fuse. */
export type Activation = 'none' | 'relu' | 'gelu-erf' | 'gelu-tanh' | 'quick-gelu' | 'silu';

export interface MatmulParams {
  /** B is stored as [.., N, K] (Gemm transB=1, or a Linear weight as PyTorch stores it). */
  readonly transposeB?: boolean;
  /** Applied after bias. */
  readonly activation?: Activation;
  /** Multiplies A×B before bias (Gemm alpha). Default 1. */
  readonly alpha?: number;
  /** Multiplies the bias (Gemm beta). Default 1. */
  readonly beta?: number;
  /**
   * The bias operand is a gate of the output's dims, multiplied after the activation instead of added before
   * it (SwiGLU's up(x) · silu(gate(x)) in the up projection's epilogue).
   */
  readonly gate?: boolean;
  /** Forces a kernel (benchmarks and tests); default: chosen by shape and adapter. */
  readonly variant?: MatmulVariant;
}

/**
 * Matmul kernels: `direct` (barrier-free 4×4 blocks, software adapters), `gemv` (one output row, 256 columns a
 * workgroup), `gemv-splitk` (one row, B [K, N]: K split across workgroups, then summed), `tile32`
 * (32×32 tiles), `tile64`/`tile128` (large register-blocked tiles), and their `-f16` forms (f16 arithmetic,
 * f32 accumulation across slabs; needs shader-f16).
 */
export type MatmulVariant =
  | 'direct'
  | 'gemv'
  | 'gemv-splitk'
  | 'tile32'
  | 'tile64'
  | 'tile128'
  | 'tile64-f16'
  | 'tile128-f16';

/**
 * A 4-D logical view [B, H, S, D] onto a buffer with element strides, so that a Reshape/Transpose in front of
 * attention costs nothing. `start` is an element offset (need not be aligned, unlike GpuView.offset), e.g. to
 * point K at the second third of a packed QKV projection.
 */
export interface Strided4 {
  readonly shape: readonly [number, number, number, number];
  readonly strides: readonly [number, number, number, number];
  readonly start?: number;
}

export interface AttentionParams {
  /** Logical [B, H, Sq, D] layout of q within its view; default: contiguous q.dims (must then be 4-D). */
  readonly q?: Strided4;
  /** Logical [B, H, Sk, D] layout of k; default contiguous. Sk here is the number of keys actually attended. */
  readonly k?: Strided4;
  /** Logical [B, H, Sk, D] layout of v; default contiguous. */
  readonly v?: Strided4;
  /**
   * Element strides [b, h, s, d] and start of the output. Default: [B, Sq, H*D] contiguous (heads merged),
   * i.e. strides [Sq*H*D, D, H*D, 1] — what follows attention in every transformer.
   */
  readonly out?: { readonly strides: readonly [number, number, number, number]; readonly start?: number };
  /** Multiplies q·k. Default 1/sqrt(D). */
  readonly scale?: number;
  /** Scores become c·tanh(s / c) after the scale, before the mask (GroupQueryAttention's softcap). 0: none. */
  readonly softcap?: number;
  /** Query i (0-based in this call) attends keys 0 … pastLength + i. */
  readonly causal?: boolean;
  /**
   * With causal: a sliding window W, query i attends only keys pastLength + i − W + 1 … pastLength + i
   * (GroupQueryAttention's local_window_size), computed in the kernel. 0: none.
   */
  readonly window?: number;
  /**
   * Attention sinks, float32 [H]: per query head a virtual key of that score and no value in every row's softmax
   * (GroupQueryAttention's smooth_softmax, sinks of 0, and head_sink).
   */
  readonly sinks?: GpuView;
  /** Number of cached keys in front of this call's queries (KV-cache decoding). Default Sk − Sq. */
  readonly pastLength?: number;
  /** Forces a kernel (benchmarks and tests); default: chosen by the number of queries and the adapter. */
  readonly variant?: AttentionVariant;
  /**
   * Keys and values that follow k's and v's (this step's, read where their projection left them): k/v then
   * hold only a KV cache, attended in place, and no concatenation of the two is ever made.
   */
  readonly tail?: AttentionTail;
}

/** The second key/value source of attention: keys Sk … Sk + S − 1, [B, Hkv, S, D] logically. */
export interface AttentionTail {
  readonly k: GpuView;
  readonly v: GpuView;
  /** Default: contiguous k.dims (then 4-D). */
  readonly kLayout?: Strided4;
  readonly vLayout?: Strided4;
}

/**
 * `decode` (a workgroup per query row), `tiled` (a thread per query row), `tiled-f16` (shader-f16), `wide`
 * (eight threads per query row, for grids too small to fill a GPU).
 */
export type AttentionVariant = 'decode' | 'tiled' | 'tiled-f16' | 'wide';

export interface LayerNormParams {
  /** Default 1e-5. */
  readonly epsilon?: number;
  /** RMSNorm: no mean subtracted, normalized by sqrt(mean(x²) + epsilon). */
  readonly rms?: boolean;
}

export type UnaryOp =
  | 'Identity'
  | 'Abs'
  | 'Neg'
  | 'Relu'
  | 'Sigmoid'
  | 'Tanh'
  | 'Erf'
  | 'Exp'
  | 'Log'
  | 'Sqrt'
  | 'Reciprocal'
  | 'Floor'
  | 'Ceil'
  | 'Round'
  | 'Sin'
  | 'Cos'
  | 'Sign'
  | 'Not'
  | 'Gelu'
  | 'GeluTanh'
  | 'QuickGelu'
  | 'LeakyRelu'
  | 'Clip'
  | 'HardSigmoid'
  | 'Softplus'
  | 'Tan'
  | 'Asin'
  | 'Acos'
  | 'Atan'
  | 'Sinh'
  | 'Cosh'
  | 'Asinh'
  | 'Acosh'
  | 'Atanh'
  | 'Softsign'
  | 'Elu'
  | 'Selu'
  | 'Celu'
  | 'ThresholdedRelu'
  | 'HardSwish'
  | 'Shrink';

export interface UnaryParams {
  readonly op: UnaryOp;
  /** LeakyRelu alpha (0.01), Clip min (-inf), HardSigmoid alpha (0.2), Elu / Celu / ThresholdedRelu alpha (1),
   * Selu alpha (1.6733), Shrink lambd (0.5). */
  readonly alpha?: number;
  /** Clip max (+inf), HardSigmoid beta (0.5), Selu gamma (1.0507), Shrink bias (0). */
  readonly beta?: number;
}

export type BinaryOp =
  | 'Add'
  | 'Sub'
  | 'Mul'
  | 'Div'
  | 'Pow'
  | 'Max'
  | 'Min'
  | 'Mod'
  /** ONNX Mod with fmod=1: C's truncating remainder (the dividend's sign), also on integers. */
  | 'FMod'
  | 'Equal'
  | 'Less'
  | 'LessOrEqual'
  | 'Greater'
  | 'GreaterOrEqual'
  | 'And'
  | 'Or'
  | 'Xor'
  /** x where x ≥ 0, else x · slope (y). */
  | 'PRelu'
  /** ONNX BitShift on uint8 (the one unsigned type webvl holds): bits shifted out are lost. */
  | 'BitShiftLeft'
  | 'BitShiftRight';

export type ReduceOp =
  | 'Sum'
  | 'Mean'
  | 'Max'
  | 'Min'
  | 'Prod'
  | 'L2'
  | 'L1'
  | 'SumSquare'
  | 'LogSum'
  | 'LogSumExp';

export interface ReduceParams {
  readonly op: ReduceOp;
  /** Axes to reduce (negative allowed). Empty/undefined = all axes (ONNX noop_with_empty_axes=0). */
  readonly axes?: readonly number[];
  /** Default true (ONNX default). */
  readonly keepdims?: boolean;
}

export interface SliceParams {
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** Default 0 … starts.length−1. */
  readonly axes?: readonly number[];
  /** Default all 1; negative steps allowed. */
  readonly steps?: readonly number[];
}

export interface Conv2dParams {
  /** [sh, sw], default [1, 1]. */
  readonly strides?: readonly [number, number];
  /** [top, left, bottom, right] as ONNX orders them, default zeros. */
  readonly pads?: readonly [number, number, number, number];
  /** [dh, dw], default [1, 1]. */
  readonly dilations?: readonly [number, number];
  /** Default 1. Cin and Cout must be divisible by it. */
  readonly group?: number;
  readonly activation?: Activation;
  /** Forces a kernel (tests); by default im2col + matmul on software adapters, else the direct kernels. */
  readonly variant?: Conv2dVariant;
  /** The im2col variant's column-buffer budget in bytes (tests); default 64 MiB. */
  readonly maxColumnBytes?: number;
}

/**
 * Conv kernels: one output a thread (`direct`), 4 channels × 4 columns (`blocked`), 8 × 4 with the window
 * compiled in (`window`), or the input windows as columns times the weights as a matmul (`im2col`).
 */
export type Conv2dVariant = 'direct' | 'blocked' | 'window' | 'im2col';

export interface TopKParams {
  readonly k: number;
  /** Default true (largest first). Ties: lower index first, as ONNX requires. */
  readonly largest?: boolean;
}

/** Where packResampleTaps put each axis in the taps buffer. */
export interface PackedTapsLayout {
  readonly maxTapsX: number;
  readonly maxTapsY: number;
  /** First element of the y axis. */
  readonly yBase: number;
  /** Total float32 elements. */
  readonly length: number;
}

export interface ResizeNormalizeParams {
  /** Source image size in pixels; the image view holds width*height RGBA8 pixels packed one per u32. */
  readonly srcWidth: number;
  readonly srcHeight: number;
  /** Size after resizing (the taps' output sizes), before the crop to out's H×W. */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** Offset of the output window in the resized image (a centre crop; negative offsets pad with 0). */
  readonly top: number;
  readonly left: number;
  /** Layout of the taps view, from packResampleTaps. */
  readonly taps: PackedTapsLayout;
  /** Per channel (R, G, B): out = v · scale − shift for 0–255 values v. */
  readonly scale: readonly [number, number, number];
  readonly shift: readonly [number, number, number];
  /** Which image of out's batch to write. Default 0. */
  readonly batchIndex?: number;
}

export type { GpuView, ResampleTaps };
