/**
 * `hostmem serve`'s metrics options, against the real command (out/cli/hostmem.js) over real HTTP and HTTPS:
 * - a token from --token-file or HOSTMEM_TOKEN (the file wins), never printed, the same after a restart; a token file
 *   others may read, a missing one, or a malformed token: exit 2 with one line naming the flag;
 * - a metrics-only token opens /metrics and nothing else;
 * - --allow-remote over TLS: the printed URL names this machine as another machine would reach it and works with
 *   the certificate; the Host check stays on (403 for a foreign name) unless --allowed-host names it;
 * - --watch NAME of a program not running yet is a name group at 0, not an error.
 * Certificates are made with openssl (skipped, with that reason, where there is none).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname, networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { parseExposition, select } from '../../metrics/testing';

const CLI = join(process.cwd(), 'out', 'cli', 'hostmem.js');
const folder = mkdtempSync(join(tmpdir(), 'hostmem-serve-metrics-'));
const rendererDir = join(folder, 'renderer');
mkdirSync(rendererDir);
writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>hostmem</title>');
const running: ChildProcess[] = [];
after(async () => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(folder, { recursive: true, force: true });
});

interface Started {
  readonly firstLine: string;
  readonly output: () => string;
  readonly stop: () => Promise<void>;
}

/** Start `hostmem serve ARGS` and wait for its first stdout line; or its exit code and stderr when it exits first. */
function serve(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Started | { code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--scenario', 'none', ...args], {
    env: { ...process.env, HOSTMEM_TOKEN: '', HOSTMEM_METRICS_TOKEN: '', HOSTMEM_RENDERER_DIR: rendererDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve) => {
    let first: string | null = null;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      out += `${line}\n`;
      if (first !== null) return;
      first = line;
      resolve({
        firstLine: line,
        output: () => out + err,
        stop: async () => {
          child.kill('SIGINT');
          await exited;
        },
      });
    });
    void exited.then((code) => {
      if (first === null) resolve({ code, stderr: err });
    });
  });
}

function started(r: Started | { code: number | null; stderr: string }): Started {
  if ('firstLine' in r) return r;
  throw new Error(`hostmem serve exited ${r.code}: ${r.stderr}`);
}

function refused(r: Started | { code: number | null; stderr: string }): string {
  if ('firstLine' in r) throw new Error(`hostmem serve started: ${r.firstLine}`);
  assert.equal(r.code, 2);
  return r.stderr.split('\n')[0]!;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

function get(url: string, headers: Record<string, string> = {}, ca?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const options = { headers, ...(ca && { ca }) };
    const done = (res: IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req = u.protocol === 'https:' ? httpsRequest(url, options, done) : httpRequest(url, options, done);
    req.on('error', reject);
    req.end();
  });
}

const TOKEN = 'file-token-0123456789abcdefABCDEF';
const OTHER = 'env-token-0123456789abcdefABCDEF';

function tokenFile(name: string, content: string, mode = 0o600): string {
  const path = join(folder, name);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

const urlOf = (line: string): string => {
  const m = /^hostmem serving at (\S+)$/.exec(line);
  assert.ok(m, line);
  return m[1]!;
};

describe('a stable token', () => {
  test('--token-file: the token is used, never printed, and the same after a restart; the file wins over HOSTMEM_TOKEN', async () => {
    const file = tokenFile('token', `${TOKEN}\n`);
    for (let run = 0; run < 2; run++) {
      const s = started(await serve(['--metrics-only', '--token-file', file], { HOSTMEM_TOKEN: OTHER }));
      const url = urlOf(s.firstLine);
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'no token in the URL');
      assert.equal((await get(url, { authorization: `Bearer ${TOKEN}` })).status, 200);
      assert.equal((await get(url, { authorization: `Bearer ${OTHER}` })).status, 401, 'the file wins');
      await s.stop();
      assert.ok(!s.output().includes(TOKEN), 'the token is never printed');
      assert.match(s.output(), /the token is the one from --token-file/);
    }
  });

  test('HOSTMEM_TOKEN alone is used, and not printed', async () => {
    const s = started(await serve(['--metrics-only'], { HOSTMEM_TOKEN: OTHER }));
    const url = urlOf(s.firstLine);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'no token in the URL');
    assert.equal((await get(url, { authorization: `Bearer ${OTHER}` })).status, 200);
    assert.equal((await get(url, { authorization: 'Bearer some-other-token-0123456789' })).status, 401);
    await s.stop();
    assert.ok(!s.output().includes(OTHER));
  });

  test('a token file others may read, a directory, a malformed token: exit 2, one line naming the flag', async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [
        ['--token-file', tokenFile('open', TOKEN, 0o644)],
        {},
        /--token-file .*open: other users may read or change it \(mode 0644\); chmod 600/,
      ],
      [['--token-file', folder], {}, /not a regular file/],
      [['--token-file', tokenFile('short', 'abc')], {}, /a token must be 16 to 4096 characters, got 3/],
      [['--token-file', tokenFile('spaces', 'a token with spaces in it')], {}, /a token is one line of letters/],
      [
        ['--metrics-token-file', tokenFile('same', TOKEN), '--token-file', tokenFile('same2', TOKEN)],
        {},
        /must differ/,
      ],
      [[], { HOSTMEM_TOKEN: 'short' }, /^hostmem serve: HOSTMEM_TOKEN: a token must be/],
    ];
    if (process.platform === 'win32') cases.shift(); // no mode bits on Windows
    for (const [args, env, message] of cases) {
      const line = refused(await serve(['--metrics-only', ...args], env));
      assert.match(line, message);
      assert.match(line, /^hostmem serve: /);
    }
  });
});

describe('a metrics-only token', () => {
  test('opens /metrics and nothing else; the control token opens everything', async () => {
    const metricsFile = tokenFile('metrics-token', 'metrics-token-0123456789abcdef');
    const s = started(await serve(['--token-file', tokenFile('control', TOKEN), '--metrics-token-file', metricsFile]));
    const origin = new URL(urlOf(s.firstLine)).origin;
    const asMetrics = { authorization: 'Bearer metrics-token-0123456789abcdef' };
    assert.equal((await get(`${origin}/metrics`, asMetrics)).status, 200);
    assert.equal((await get(`${origin}/metrics?token=metrics-token-0123456789abcdef`)).status, 200);
    assert.equal((await get(`${origin}/`, asMetrics)).status, 401, 'not the dashboard');
    assert.equal((await get(`${origin}/?token=metrics-token-0123456789abcdef`)).status, 401);
    assert.equal(
      (await get(`${origin}/ws`, { ...asMetrics, connection: 'Upgrade', upgrade: 'websocket' })).status,
      401,
    );
    assert.equal((await get(`${origin}/`, { authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.equal((await get(`${origin}/metrics`, { authorization: `Bearer ${TOKEN}` })).status, 200);
    await s.stop();
  });
});

describe('a name group from the command line', () => {
  test('--watch NAME of a program not running yet serves, with the group at 0', async () => {
    const name = 'hostmem-no-such-program';
    const s = started(await serve(['--metrics-only', '--token-file', tokenFile('t3', TOKEN), '--watch', name]));
    const parsed = parseExposition((await get(urlOf(s.firstLine), { authorization: `Bearer ${TOKEN}` })).body);
    assert.equal(select(parsed, 'hostmem_namegroup_processes', { group: name })[0]?.value, 0);
    assert.equal(select(parsed, 'hostmem_watch_processes', { watch: name })[0]?.value, 0);
    // The revision the build recorded (this checkout is a git one: not `unknown`).
    const git = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' });
    const revision = select(parsed, 'hostmem_build_info')[0]?.labels.revision ?? '';
    assert.match(revision, git.status === 0 ? /^[0-9a-f]{12}$/ : /^([0-9a-f]{12}|unknown)$/);
    // The line comes once the first listing has answered (it reads every process's smaps): waited for, not timed.
    for (let i = 0; i < 600 && !/watching every process named/.test(s.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await s.stop();
    assert.match(s.output(), /watching every process named hostmem-no-such-program \(none running yet\)/);
  });
});

describe('remote scraping', () => {
  const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  const skip = openssl.status === 0 ? false : 'needs openssl to make a certificate (Debian package openssl)';
  const names = [hostname(), 'localhost', 'metrics.example.net', 'other.example.net'];
  const addresses = ['127.0.0.1'];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') addresses.push(a.address);
  }
  const cert = join(folder, 'cert.pem');
  const key = join(folder, 'key.pem');
  const makeCert = (): Buffer => {
    if (!existsSync(cert)) {
      const san = [...names.map((n) => `DNS:${n}`), ...addresses.map((a) => `IP:${a}`)].join(',');
      const made = spawnSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '2',
          '-subj',
          '/CN=hostmem-test',
          '-keyout',
          key,
          '-out',
          cert,
          '-addext',
          `subjectAltName=${san}`,
        ],
        { encoding: 'utf8' },
      );
      assert.equal(made.status, 0, made.stderr);
    }
    return readFileSync(cert);
  };

  test('over TLS on every interface: a usable URL, the Host check on, --allowed-host', { skip }, async () => {
    const ca = makeCert();
    const file = tokenFile('remote-token', TOKEN);
    const args = [
      '--metrics-only',
      '--host',
      '0.0.0.0',
      '--allow-remote',
      '--tls-cert',
      cert,
      '--tls-key',
      key,
      '--token-file',
      file,
    ];
    const s = started(await serve(args));
    const url = new URL(urlOf(s.firstLine));
    assert.equal(url.protocol, 'https:');
    assert.notEqual(url.hostname, '0.0.0.0', 'a name another machine can use');
    assert.ok([hostname(), ...addresses].includes(url.hostname), url.hostname);
    const auth = { authorization: `Bearer ${TOKEN}` };
    // The printed URL itself, certificate checked.
    const ok = await get(url.href, auth, ca);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^hostmem_host_committed_bytes /m);
    // Over loopback with this machine's host name as Host: its own name, accepted.
    const local = `https://127.0.0.1:${url.port}/metrics`;
    assert.equal((await get(local, { ...auth, host: `${hostname()}:${url.port}` }, ca)).status, 200);
    // A foreign name (DNS rebinding): 403 even with the token.
    const foreign = await get(local, { ...auth, host: `metrics.example.net:${url.port}` }, ca);
    assert.equal(foreign.status, 403);
    assert.match(foreign.body, /--allowed-host/);
    await s.stop();

    const s2 = started(await serve([...args, '--allowed-host', 'metrics.example.net']));
    const url2 = new URL(urlOf(s2.firstLine));
    assert.equal(url2.hostname, 'metrics.example.net', 'the allowed name is the one printed');
    const local2 = `https://127.0.0.1:${url2.port}/metrics`;
    assert.equal((await get(local2, { ...auth, host: `metrics.example.net:${url2.port}` }, ca)).status, 200);
    assert.equal((await get(local2, { ...auth, host: `other.example.net:${url2.port}` }, ca)).status, 403);
    await s2.stop();
  });

  test('a certificate that is not one: exit 2 with one line', async () => {
    const bad = join(folder, 'bad.pem');
    writeFileSync(bad, 'not a certificate');
    const line = refused(await serve(['--metrics-only', '--tls-cert', bad, '--tls-key', bad]));
    assert.match(line, /^hostmem serve: the TLS certificate and key cannot be used: /);
  });
});
