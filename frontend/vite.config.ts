import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const outDir = resolve(import.meta.dirname, 'dist');

// The Go binary embeds dist/; a fresh clone has only dist/.gitkeep, so every
// build must leave it in place (Vite empties outDir first).
function keepGitkeep(): Plugin {
  return {
    name: 'edgehmi-keep-gitkeep',
    apply: 'build',
    closeBundle() {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(resolve(outDir, '.gitkeep'), '');
    },
  };
}

// `npm run dev` proxies the API and the websocket to a running server.
const backend = process.env.EDGEHMI_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [svelte(), keepGitkeep()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 200,
  },
  server: {
    proxy: {
      '/api': { target: backend, changeOrigin: false },
      '/healthz': { target: backend },
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
