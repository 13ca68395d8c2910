// CPU twin of ops/kv-append.ts (tests only), as onnxruntime's GQA builds its present: per batch row, copy
// past_seqlen rows of the past, then the new rows, over a zeroed cache. fresh is [B, S, H, D] (BSNH).
import { type CpuTensor, cpuTensor } from './tensor';

export function kvAppendCpu(
  past: CpuTensor | null,
  fresh: CpuTensor,
  seqlens: readonly number[],
  total: number,
  first: boolean,
): CpuTensor {
  const [B, S, H, D] = fresh.dims;
  const P = past ? past.dims[2] : 0;
  const out = cpuTensor([B, H, total, D]);
  for (let b = 0; b < B; b++) {
    const pastRows = first ? 0 : Math.min(Math.max(seqlens[b] + 1 - S, 0), total - S);
    for (let h = 0; h < H; h++) {
      const row = (t: number) => ((b * H + h) * total + t) * D;
      for (let t = 0; t < Math.min(pastRows, P); t++)
        for (let d = 0; d < D; d++)
          out.data[row(t) + d] = (past as CpuTensor).data[((b * H + h) * P + t) * D + d];
      for (let s = 0; s < S; s++)
        for (let d = 0; d < D; d++)
          out.data[row(pastRows + s) + d] = fresh.data[((b * S + s) * H + h) * D + d];
    }
  }
  return out;
}
