// Ask (a generative VLM, llava-tiny): questions about the picked image, answers streamed token by token,
// follow-ups carried as a chat (the runtime reuses the image and the earlier turns' cache), greedy or sampled.
// A new image, or "New conversation", starts over; Stop cancels an answer.
import type { Runtime } from '../api/runtime';
import type { ChatMessage } from '../api/types';
import { h, whileRunning } from './dom';
import type { ImagePicker } from './image-picker';
import { gate, showError, timingsLine } from './task';

export function askPanel(runtime: Promise<Runtime>, picker: ImagePicker, afterTask: () => void): HTMLElement {
  const question = h('input', {
    id: 'ask-question',
    type: 'text',
    value: 'how many objects are there?',
    'aria-label': 'question about the image',
  });
  const run = h('button', { id: 'ask-run', type: 'button', class: 'primary' }, 'Ask');
  const stop = h('button', { id: 'ask-stop', type: 'button', class: 'secondary' }, 'Stop');
  const restart = h('button', { id: 'ask-new', type: 'button', class: 'secondary' }, 'New conversation');
  const sample = h('input', { id: 'ask-sample', type: 'checkbox' });
  const log = h('div', { id: 'ask-log', class: 'chat', 'aria-live': 'polite' });
  const out = h('div', { id: 'ask-out', class: 'out' });
  stop.disabled = true;
  gate([run], runtime, 'the Ask model');
  let messages: ChatMessage[] = [];
  const reset = () => {
    messages = [];
    log.replaceChildren();
    out.replaceChildren();
  };
  picker.onChange(reset);
  restart.addEventListener('click', reset);
  let ctl: AbortController | undefined;
  stop.addEventListener('click', () => ctl?.abort());
  const bubble = (role: ChatMessage['role'], text: string) => {
    const b = h('p', { class: `bubble ${role}` }, text);
    log.append(b);
    return b;
  };
  const askNow = () =>
    whileRunning([run], async () => {
      const rt = await runtime;
      const turn: ChatMessage[] = [...messages, { role: 'user', content: question.value }];
      bubble('user', question.value);
      const live = bubble('assistant', '…');
      out.replaceChildren();
      out.dataset.done = '';
      ctl = new AbortController();
      stop.disabled = false;
      try {
        const r = await rt.chat(await picker.current(), turn, {
          signal: ctl.signal,
          sampling: sample.checked
            ? { temperature: 0.8, topK: 8, topP: 0.9, seed: Date.now() % 2 ** 31 }
            : undefined,
          onToken: (t) => {
            live.textContent = t.text;
          },
        });
        live.textContent = r.text || '(no answer)';
        live.id = `ask-answer-${turn.length}`;
        messages = [...turn, { role: 'assistant', content: r.text }];
        out.append(
          h(
            'p',
            { class: 'muted' },
            `${r.tokenIds.length} tokens; the prompt took ${r.promptTokens} positions, ${r.reusedTokens} of them from the last turn’s cache.`,
          ),
          timingsLine(rt),
        );
        out.dataset.done = r.text;
      } catch (e) {
        live.remove();
        showError(out, e);
      } finally {
        stop.disabled = true;
      }
      afterTask();
    });
  run.addEventListener('click', askNow);
  question.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !run.disabled) askNow();
  });
  return h(
    'div',
    { class: 'task' },
    h(
      'p',
      { class: 'task-intro' },
      'A small generative model answers questions about the image; follow-up questions continue the conversation.',
    ),
    h('div', { class: 'controls' }, question, run, stop, restart, h('label', {}, sample, ' sample')),
    log,
    out,
  );
}
