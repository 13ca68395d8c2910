// The module worker behind createRuntime(): serves the worker API (worker-api.ts) over Comlink.
import * as Comlink from 'comlink';
import { createWorkerApi } from './worker-api';

export type { WorkerApi } from './worker-api';

Comlink.expose(createWorkerApi());
