// Test page for asking about an image (rt.ask / rt.chat) and for a generative model's captions (rt.caption:
// Florence-2's text tasks) through the public API, as an app calls it (window.askTest): answers streamed, options
// checked, errors typed, aborts honoured.
import { createRuntime, type Runtime } from '../../src/api/runtime';
import type {
  AskCallOptions,
  BackendChoice,
  CaptionCallOptions,
  ChatMessage,
  ModelDType,
} from '../../src/api/types';
import { WebvlError } from '../../src/errors';

let rt: Runtime | undefined;
const runtime = () => {
  if (!rt) throw new Error('call askTest.create() first');
  return rt;
};
const image = (rgba: { width: number; height: number; data: number[] }) => ({
  width: rgba.width,
  height: rgba.height,
  data: Uint8Array.from(rgba.data),
});
type Rgba = { width: number; height: number; data: number[] };
/** One image, or several (a conversation about all of them). */
const images = (rgba: Rgba | readonly Rgba[]) =>
  Array.isArray(rgba) ? (rgba as readonly Rgba[]).map(image) : image(rgba as Rgba);

async function codeOf(f: () => Promise<unknown>): Promise<string> {
  try {
    await f();
    return 'resolved';
  } catch (e) {
    return e instanceof WebvlError ? e.code : `untyped: ${String(e)}`;
  }
}

const api = {
  async create(backend: BackendChoice) {
    await rt?.dispose();
    rt = await createRuntime({ backend });
  },
  async load(url: string, dtype?: ModelDType) {
    return runtime().load(url, dtype ? { dtype } : {});
  },
  info: () => runtime().info(),
  /** chat(), with every token onToken heard. */
  async chat(
    rgba: Rgba | readonly Rgba[],
    messages: readonly ChatMessage[],
    options: Omit<AskCallOptions, 'onToken' | 'signal'> = {},
  ) {
    const streamed: number[] = [];
    const result = await runtime().chat(images(rgba), messages, {
      ...options,
      onToken: (t) => void streamed.push(t.tokenId),
    });
    return { result, streamed };
  },
  /** caption(), with every token onToken heard. */
  async caption(rgba: Rgba, options: Omit<CaptionCallOptions, 'onToken' | 'signal'> = {}) {
    const streamed: number[] = [];
    const result = await runtime().caption(image(rgba), {
      ...options,
      onToken: (t) => void streamed.push(t.tokenId),
    });
    return { result, streamed, lastRun: (await runtime().info()).lastRun };
  },
  captionCode: (rgba: Rgba, options: unknown) =>
    codeOf(() => runtime().caption(image(rgba), options as CaptionCallOptions)),
  askCode: (rgba: Rgba, question: unknown, options?: unknown) =>
    codeOf(() => runtime().ask(image(rgba), question as string, options as AskCallOptions)),
  chatCode: (rgba: Rgba | readonly Rgba[], messages: unknown) =>
    codeOf(() => runtime().chat(images(rgba), messages as ChatMessage[])),
  /** Aborts after the first token; resolves to the error code and the tokens heard before. */
  async abortMidStream(rgba: Rgba, question: string) {
    const ctl = new AbortController();
    const heard: number[] = [];
    const code = await codeOf(() =>
      runtime().ask(image(rgba), question, {
        maxTokens: 6,
        signal: ctl.signal,
        onToken: (t) => {
          heard.push(t.tokenId);
          ctl.abort();
        },
      }),
    );
    return { code, heard };
  },
};

declare global {
  interface Window {
    askTest: typeof api;
    webvlReady: boolean;
  }
}
window.askTest = api;
window.webvlReady = true;
