// Registers the app-shell service worker (public/sw.js). On the first visit the page was loaded before the
// worker existed, so once it controls the page we hand it the list of what was already fetched.
export async function enableOffline(): Promise<string> {
  if (!('serviceWorker' in navigator)) return 'no service worker support: offline use unavailable';
  try {
    await navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`, {
      scope: import.meta.env.BASE_URL,
    });
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) =>
        navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true }),
      );
    }
    const urls = [location.href, ...performance.getEntriesByType('resource').map((e) => e.name)];
    const channel = new MessageChannel();
    const stored = new Promise((resolve) => {
      channel.port1.onmessage = resolve;
    });
    navigator.serviceWorker.controller?.postMessage({ type: 'precache', urls }, [channel.port2]);
    await stored;
    return 'offline ready: app shell cached by a service worker, models in Cache Storage';
  } catch (e) {
    return `service worker failed: ${(e as Error).message}`;
  }
}
