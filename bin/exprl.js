#!/usr/bin/env node
// Thin launcher: the command is built into dist-cli/ by `npm run build:cli` (run by `prepare`
// on `npm ci` / `npm install`).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const built = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist-cli', 'exprl.js');
if (!existsSync(built)) {
  console.error('exprl: dist-cli/exprl.js is missing; run `npm run build:cli` in the project folder.');
  process.exit(1);
}
const { main } = await import(pathToFileURL(built).href);
process.exitCode = await main(process.argv.slice(2));
