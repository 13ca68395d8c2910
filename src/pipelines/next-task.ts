// Long requests (caption decoding) yield to the worker's event loop between steps: messages such as an
// abort() from the page are tasks, and a loop that only awaits already-settled promises never lets them run.

/** Resolves in a new task. A MessageChannel round trip, not setTimeout(0), which is clamped to 4 ms once nested. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
