import { defineConfig } from 'vitest/config';

// npm run bench:host-memory: bench/host-memory.test.ts alone (minutes; not part of npm test).
export default defineConfig({
  test: { include: ['bench/host-memory.test.ts'], environment: 'node', pool: 'forks' },
});
