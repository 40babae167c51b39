// Builds Tally's native curve engine (native/, blst from the pinned c-kzg package) at npm install.
// Never fails the install: without a compiler, headers or the blst sources, it says why and the
// engine layer falls back to mcl-wasm (src/crypto/engine/). TALLY_NATIVE=0 skips the build.
//
// node-gyp cannot download Node's headers on machines without internet access, so it is pointed
// at the installed ones: npm_config_nodedir when set, else the prefix of the running node.

import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, 'native');
const say = (msg) => process.stderr.write(`tally native engine: ${msg}\n`);

function fallback(why) {
  say(`${why}; Tally will run on mcl-wasm (set TALLY_ENGINE=mcl to silence the choice)`);
  rmSync(path.join(nativeDir, 'build'), { recursive: true, force: true });
  process.exit(0);
}

if (process.env.TALLY_NATIVE === '0') fallback('build disabled by TALLY_NATIVE=0');

try {
  createRequire(import.meta.url).resolve('c-kzg/package.json');
} catch {
  fallback('blst sources (npm package c-kzg) not installed');
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(bundled) ? bundled : null;
}

function nodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(path.join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : null;
}

const gyp = nodeGyp();
if (gyp === null) fallback('node-gyp not found');
const nodedir = nodeDir();
if (nodedir === null) fallback('Node headers (include/node/node_api.h) not found');

const r = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`, `--jobs=${process.env.TALLY_NATIVE_JOBS ?? '2'}`], {
  cwd: nativeDir,
  stdio: ['ignore', 'ignore', 'pipe'],
  env: { ...process.env, npm_config_nodedir: nodedir },
  encoding: 'utf8',
});
if (r.status !== 0 || !existsSync(path.join(nativeDir, 'build', 'Release', 'tally_blst.node'))) {
  const lines = (r.stderr ?? String(r.error ?? '')).trim().split('\n');
  const telling = lines.filter((l) => /error|not found|No such/i.test(l) && !l.startsWith('gyp ERR!'));
  const tail = (telling.length > 0 ? telling.slice(0, 4) : lines.slice(-4)).join('\n  ');
  fallback(`build failed:\n  ${tail}\n`);
}
say('built native/build/Release/tally_blst.node (blst)');
