// webvl demo service worker: keeps the app shell (HTML, JS, CSS, ORT's wasm, gallery data) so the demo works
// offline after the first visit. Network first, cache as the fallback, so an online visit always gets the
// current build. Model graphs (.onnx) are not duplicated here: the runtime keeps them, verified, in its own
// Cache Storage ('webvl-models-v1').
const SHELL = 'webvl-shell-v1';

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

function cacheable(request) {
  const url = new URL(request.url);
  return request.method === 'GET' && url.origin === self.location.origin && !url.pathname.endsWith('.onnx');
}

// The page sends what it loaded before this worker controlled it (the first visit), to be stored too.
self.addEventListener('message', (event) => {
  const urls = event.data && event.data.type === 'precache' ? event.data.urls : [];
  const reply = event.ports?.[0];
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) =>
        Promise.all(
          urls
            .filter((u) => cacheable(new Request(u)))
            .map((u) =>
              cache.match(u).then(
                (hit) =>
                  hit ||
                  fetch(u)
                    .then((r) => (r.ok ? cache.put(u, r) : undefined))
                    .catch(() => undefined),
              ),
            ),
        ),
      )
      .then(() => reply?.postMessage('done')),
  );
});

self.addEventListener('fetch', (event) => {
  if (!cacheable(event.request)) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(SHELL);
      try {
        const response = await fetch(event.request);
        // Stored in the background: awaiting it would hold back the response until a 27 MB wasm file is
        // written, and compilation (which streams) would wait for it.
        if (response.ok && response.type === 'basic')
          event.waitUntil(cache.put(event.request, response.clone()));
        return response;
      } catch (error) {
        const hit = await cache.match(event.request, { ignoreVary: true });
        if (hit) return hit;
        if (event.request.mode === 'navigate') {
          const shell = await cache.match('/', { ignoreSearch: true });
          if (shell) return shell;
        }
        throw error;
      }
    })(),
  );
});
