// What the end-to-end scripts share: a check that prints what it showed, one request over a
// daemon's Unix socket, and a devstack started and stopped around a script's work.
import { spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

export function check(condition, what) {
  if (!condition) throw new Error('check failed: ' + what);
  console.log('ok   ' + what);
}

// One request over a daemon's Unix socket: {status, body}.
export function unix(socket, method, path, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ socketPath: socket, method, path, headers: { 'content-type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: text }));
    });
    request.on('error', reject);
    if (body !== undefined) request.write(JSON.stringify(body));
    request.end();
  });
}

// Starts tools/devstack in `directory` with `env` added, and resolves once it prints `ready`
// (rejects if it exits or takes over a minute). The child, for stopDevstack.
export async function startDevstack(root, bin, directory, env = {}) {
  const devstack = spawn(join(root, 'tools/devstack'), [directory], {
    env: { ...process.env, CORDON_BIN: bin, CORDON_KEK_CUSTODY: 'key_file', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let give_up;
  await new Promise((resolve, reject) => {
    devstack.stdout.on('data', (chunk) => { if (String(chunk).includes('ready')) resolve(); });
    devstack.on('exit', (code) => reject(new Error('devstack exited with ' + code)));
    give_up = setTimeout(() => reject(new Error('devstack did not get ready')), 60000);
  }).finally(() => clearTimeout(give_up));
  return devstack;
}

// SIGTERM, and waits for it to exit; nothing if it was never started or has exited.
export async function stopDevstack(devstack) {
  if (!devstack || devstack.exitCode !== null) return;
  devstack.kill('SIGTERM');
  await new Promise((resolve) => devstack.on('exit', resolve));
}
