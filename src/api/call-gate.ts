// Every public call runs through the gate. dispose() closes it: calls still pending reject at once with
// DISPOSED (their worker is going away, so their answers never come), and so does every later call.
import { WebvlError } from '../errors';

export class CallGate {
  private closedBy: string | undefined;
  private readonly pending = new Set<(e: WebvlError) => void>();

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  private error(): WebvlError {
    return new WebvlError('DISPOSED', `this runtime was disposed (${this.closedBy}); create a new one`);
  }

  run<T>(f: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.error());
    return new Promise<T>((resolve, reject) => {
      this.pending.add(reject);
      f()
        .then(resolve, reject)
        .finally(() => this.pending.delete(reject));
    });
  }

  close(why: string): void {
    if (this.closed) return;
    this.closedBy = why;
    for (const reject of this.pending) reject(this.error());
    this.pending.clear();
  }
}
