// A fake HTTP server over a map of URL → bytes, for model-folder tests: counts requests, streams bodies in small
// chunks, and says Content-Length only where asked (a server that streams without one, as some CDNs do).
export interface FakeServer {
  readonly fetchFn: typeof fetch;
  readonly requests: string[];
}

export function fakeServer(
  files: Record<string, Uint8Array>,
  {
    contentLength = () => true,
    chunkBytes = 7,
  }: {
    contentLength?: (url: string) => boolean;
    /** Bytes per streamed chunk: small by default to exercise reassembly; larger for megabyte graphs. */
    chunkBytes?: number;
  } = {},
): FakeServer {
  const requests: string[] = [];
  const fetchFn = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requests.push(url);
    const bytes = files[url];
    if (!bytes) return new Response('not found', { status: 404 });
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += chunkBytes) c.enqueue(bytes.slice(i, i + chunkBytes));
        c.close();
      },
    });
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (contentLength(url)) headers['content-length'] = String(bytes.length);
    return new Response(stream, { headers });
  }) as typeof fetch;
  return { fetchFn, requests };
}

export const utf8 = (s: string) => new TextEncoder().encode(s);
