// Image–text matching through the fusion encoder: softmax over itm_logits, probability of index 1 (match).
// BLIP's ITM graph reads the image tokens; ViLT and VLMo's fusion graph (fusion.ts) the patch embeddings.
import { type HostTensor, hostTensor, type Tensor, toHostFloats } from '../engine/tensor';
import { unsupportedTask } from './architecture';
import { disposeTensor, gatherRows } from './encode';
import { fusionLogits, matchProbabilities } from './fusion';
import type { LoadedModel } from './loaded-model';
import { softmax } from './math';
import type { Stopwatch } from './timings';

/**
 * ITM probability for pairs (imageRow[i], texts[i]) where image tokens are [B, N+1, Dv]. Host tokens are
 * gathered into one batch; GPU-resident tokens of a single image are fed as they are, one text at a time,
 * so they never leave the GPU.
 */
export async function itmProbabilities(
  model: LoadedModel,
  tokens: Tensor,
  imageRows: readonly number[],
  texts: readonly string[],
  watch: Stopwatch,
): Promise<number[]> {
  if (model.fusion) {
    const out = await fusionLogits(model, tokens, imageRows, texts, ['itm_logits'], watch);
    return matchProbabilities(out.itm_logits!).probs;
  }
  const itm = model.itm;
  if (!itm)
    throw unsupportedTask(
      model.url,
      model.kind,
      'match',
      'it has no ITM head (load a BLIP, ViLT or VLMo model)',
    );
  const enc = model.tokenizer.encodeBatch(texts);
  if (model.itmBosTokenId !== undefined) {
    for (let b = 0; b < texts.length; b++) enc.inputIds[b * enc.dims[1]] = BigInt(model.itmBosTokenId);
  }
  const run = async (ids: HostTensor, mask: HostTensor, states: Tensor): Promise<number[]> => {
    const out = await watch.time('itm', () =>
      itm.run({ input_ids: ids, attention_mask: mask, encoder_hidden_states: states }),
    );
    const logits = await toHostFloats(out.itm_logits);
    for (const t of Object.values(out)) disposeTensor(t);
    const probs: number[] = [];
    for (let b = 0; b < logits.dims[0]; b++) {
      const row = Array.from(logits.data as Float32Array).slice(b * 2, b * 2 + 2);
      probs.push(softmax(row)[1]);
    }
    return probs;
  };
  const ids = hostTensor('int64', enc.dims, enc.inputIds);
  const mask = hostTensor('int64', enc.dims, enc.attentionMask);
  const sameImage = imageRows.every((r) => r === imageRows[0]);
  if (tokens.location === 'gpu' && sameImage && tokens.dims[0] === 1) {
    const out: number[] = [];
    for (let b = 0; b < texts.length; b++) {
      out.push(...(await run(gatherRows(ids, [b]), gatherRows(mask, [b]), tokens)));
    }
    return out;
  }
  const host = await toHostFloats(tokens);
  return run(ids, mask, gatherRows(host, imageRows));
}
