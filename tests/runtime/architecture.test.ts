// What a loaded model says it can do (info().model.architecture): its family's design, less the tasks its
// folder has no head for, and the UNSUPPORTED_TASK that names which of the two refused.
import { describe, expect, it } from 'vitest';
import type { WebvlError } from '../../src/errors';
import { architectureOf, requireTask, type TaskName } from '../../src/pipelines/architecture';
import type { ModelFamily } from '../../src/pipelines/model-family';

const SCORING: TaskName[] = ['classify', 'match', 'embed', 'search'];

function refusal(family: ModelFamily, architectures: string[], task: TaskName): WebvlError | undefined {
  const model = { url: 'http://x/m/', kind: family, architecture: architectureOf(family, { architectures }) };
  try {
    requireTask(model, task);
  } catch (e) {
    return e as WebvlError;
  }
  return undefined;
}

describe('architecture by config.json heads', () => {
  it('a folder naming every head (or none) keeps its design', () => {
    expect(architectureOf('vilt', {})).toEqual(architectureOf('vilt'));
    const vilt = architectureOf('vilt', {
      architectures: ['ViltForQuestionAnswering', 'ViltForImageAndTextRetrieval'],
    });
    expect(vilt.tasks).toEqual({
      classify: 'single stream',
      match: 'single stream',
      caption: null,
      ask: 'classifier',
      embed: null,
      search: 'single stream',
    });
    expect(architectureOf('vlmo', { architectures: ['VlmoModel'] }).tasks.ask).toBe('classifier');
  });

  it('a VQA-only ViLT or VLMo checkpoint answers questions and scores nothing', () => {
    for (const [family, name] of [
      ['vilt', 'ViltForQuestionAnswering'],
      ['vlmo', 'VlmoForQuestionAnswering'],
    ] as const) {
      const a = architectureOf(family, { architectures: [name] });
      expect(a.design).toBe(family === 'vilt' ? 'single stream' : 'modality experts');
      expect(a.tasks.ask).toBe('classifier');
      for (const t of SCORING) expect(a.tasks[t]).toBeNull();
      const e = refusal(family, [name], 'match');
      expect(e?.code).toBe('UNSUPPORTED_TASK');
      expect(e?.message).toContain('its folder has no head for match');
    }
  });

  it('a retrieval-only ViLT cannot answer; a captioning-only BLIP cannot score', () => {
    expect(architectureOf('vilt', { architectures: ['ViltForImageAndTextRetrieval'] }).tasks.ask).toBeNull();
    const blip = architectureOf('blip', { architectures: ['BlipForConditionalGeneration'] });
    expect(blip.tasks.caption).toBe('decoder');
    for (const t of SCORING) expect(blip.tasks[t]).toBeNull();
    expect(architectureOf('blip', { architectures: ['BlipForImageTextRetrieval'] }).tasks.caption).toBeNull();
  });

  it("a task the design has none of is refused for the design's reason", () => {
    const e = refusal('clip', ['CLIPModel'], 'caption');
    expect(e?.code).toBe('UNSUPPORTED_TASK');
    expect(e?.message).toContain('no caption decoder');
    expect(refusal('vilt', ['ViltForQuestionAnswering'], 'ask')).toBeUndefined();
  });
});
