// Builds dist/: the app bundled by esbuild (one app.js, one app.css) and index.html.
// crates/console embeds dist/ into cirrus-controller at cargo build time.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist');
await build({
  entryPoints: { app: 'src/main.tsx' },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: 'dist',
  logLevel: 'warning',
  legalComments: 'none',
});
cpSync('index.html', 'dist/index.html');
cpSync('src/styles.css', 'dist/styles.css');
console.log('web: dist/ built');
