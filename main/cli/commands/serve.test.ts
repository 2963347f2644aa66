/** `hostmem serve` argument handling: usage errors exit 2 before anything listens; --help prints the usage. */
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import type { CliIo } from './io';
import { SERVE_USAGE, serveCommand } from './serve';

function capture(): { io: CliIo; stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const io: CliIo = {
    stdin: Readable.from([]),
    stdout: sink((t) => (out += t)),
    stderr: sink((t) => (err += t)),
  };
  return { io, stdout: () => out, stderr: () => err };
}

test('serve --help prints the usage', async () => {
  const c = capture();
  assert.equal(await serveCommand(['--help'], c.io), 0);
  assert.equal(c.stdout(), SERVE_USAGE);
});

test('a non-loopback --host without --allow-remote is refused (exit 2, nothing printed on stdout)', async () => {
  for (const host of ['0.0.0.0', '192.168.1.10', '::']) {
    const c = capture();
    assert.equal(await serveCommand(['--host', host], c.io), 2);
    assert.equal(c.stdout(), '');
    assert.match(c.stderr(), /not a loopback address/);
    assert.match(c.stderr(), /--allow-remote/);
  }
});

test('--allow-remote without TLS is refused: the token would cross the network in clear', async () => {
  const c = capture();
  assert.equal(await serveCommand(['--host', '0.0.0.0', '--allow-remote', '--metrics-only'], c.io), 2);
  assert.equal(c.stdout(), '');
  assert.match(c.stderr(), /no TLS: .*give --tls-cert and --tls-key/);
});

test('bad ports, sizes and scenarios are usage errors', async () => {
  const cases: [string[], RegExp][] = [
    [['--port', '70000'], /--port/],
    [['--port', 'x'], /--port/],
    [['--scenario', 'nope'], /unknown scenario "nope"/],
    [['--commit-limit', 'lots'], /--commit-limit/],
    [['--commit-limit', '0'], /--commit-limit: a limit must be > 0/],
    [['--bogus'], /Unknown option/],
    [['--tls-cert', 'a.pem'], /--tls-cert and --tls-key go together/],
    [
      ['--tls-cert', '/no/such/cert.pem', '--tls-key', '/no/such/key.pem'],
      /--tls-cert \/no\/such\/cert.pem: no such file/,
    ],
    [['--token-file', '/no/such/token'], /--token-file \/no\/such\/token: no such file/],
    [['--allowed-host', 'a b'], /--allowed-host: "a b" is not a host name/],
  ];
  for (const [argv, message] of cases) {
    const c = capture();
    assert.equal(await serveCommand(argv, c.io), 2, argv.join(' '));
    assert.match(c.stderr(), message);
    assert.equal(c.stdout(), '');
  }
});

test('--watch: an empty value is a usage error, a pid that does not exist is refused before anything listens', async () => {
  const empty = capture();
  assert.equal(await serveCommand(['--watch', ' '], empty.io), 2);
  assert.match(empty.stderr(), /--watch: expected a pid or a process name/);
  // (A name is a group, watched before such a process runs: serve-metrics.test.ts.)
  for (const query of ['2147483646']) {
    const c = capture();
    assert.equal(await serveCommand(['--metrics-only', '--watch', query], c.io), 2, query);
    assert.equal(c.stdout(), '', 'nothing served');
    assert.match(c.stderr(), new RegExp(`--watch ${query}: no running process`));
  }
});

test('--pid: a bad id is a usage error; a name or id no process has is refused before anything listens', async () => {
  for (const [argv, message] of [
    [['--pid', ''], /--pid: expected a process id or a process name/],
    [['--pid', '0'], /--pid: 0 is not a process id/],
    [['--pid', 'no-such-process-hostmem-test'], /--pid no-such-process-hostmem-test: no running process/],
    [['--pid', '2147483646'], /--pid 2147483646: no running process/],
  ] as [string[], RegExp][]) {
    const c = capture();
    assert.equal(await serveCommand(argv, c.io), 2, argv.join(' '));
    assert.match(c.stderr(), message);
    assert.equal(c.stdout(), '', 'no URL printed');
  }
});
