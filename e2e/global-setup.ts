// Starts one Vite dev server for all browser tests; tests read its URL via inject('baseUrl').
import type { TestProject } from 'vitest/node';
import { type DevServer, startDevServer } from './server';

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startDevServer();
  project.provide('baseUrl', server.url);
}

export async function teardown(): Promise<void> {
  await server?.close();
}

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}
