// Registers the app-shell service worker (public/sw.js). On the first visit the page was loaded before the
// worker existed, so once it controls the page we hand it the list of what was already fetched, plus `extra`
// URLs that only the runtime workers fetched.
export async function enableOffline(
  extra: readonly string[] = [],
): Promise<{ ok: boolean; message: string }> {
  if (!('serviceWorker' in navigator)) {
    return { ok: false, message: 'No service worker support: offline use is unavailable.' };
  }
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
    const urls = [
      location.href,
      ...performance.getEntriesByType('resource').map((e) => e.name),
      ...extra.map((u) => new URL(u, location.href).href),
    ];
    const channel = new MessageChannel();
    const stored = new Promise((resolve) => {
      channel.port1.onmessage = resolve;
    });
    navigator.serviceWorker.controller?.postMessage({ type: 'precache', urls }, [channel.port2]);
    await stored;
    return {
      ok: true,
      message: 'Works offline from now on (app in a service worker, models in Cache Storage).',
    };
  } catch (e) {
    return { ok: false, message: `The service worker failed: ${(e as Error).message}` };
  }
}
