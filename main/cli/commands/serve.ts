/**
 * `hostmem serve`: the dashboard in a browser. A host over this OS, its sampler and publisher, the service that
 * answers the contract, and the server (main/server) that carries it over loopback HTTP + WebSocket behind a token.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pkg from '../../../package.json';
import { createProcessInspector } from '../../../native';
import { findProcess } from '../../inspect';
import { DEFAULT_POLICY, createHost, type HostPolicy } from '../../host';
import { createHostMetrics, WatchedProcesses } from '../../metrics';
import { createReportDownloads, isLoopback, ServeError, startServer } from '../../server';
import { createService } from '../../service';
import { describeProcessError } from '../../service/processes';
import { createPublisher } from '../../telemetry/publisher';
import { createSampler } from '../../telemetry/sampler';
import { DEFAULT_SCENARIO, getScenario, SCENARIOS } from '../../workloads';
import { quote } from '../../vocabulary';
import { integerOption, limitOption, usageFailure, UsageError } from '../parse-values';
import type { CliIo } from './io';
import { CredentialError, readTls, tokenFrom, type Credential } from './serve-credentials';

export const SERVE_SUMMARY = 'serve the live dashboard over loopback HTTP + WebSocket (token-protected)';

export const SERVE_USAGE = `Usage: hostmem serve [--host 127.0.0.1] [--port 0] [--scenario NAME|none] [--commit-limit SIZE]
                     [--reserve-limit SIZE] [--allow-remote --tls-cert FILE --tls-key FILE] [--allowed-host NAME]...
                     [--token-file FILE] [--metrics-token-file FILE] [--metrics-only] [--watch PID|NAME]...
                     [--pid PID|NAME]

Runs a host memory manager over this OS and serves the dashboard (the built renderer, out/renderer) with its API
over a WebSocket. The first line printed is the URL to open; it carries a random token that every request needs.
Reports exported from the dashboard are downloads: each link works once, for 10 minutes (a PDF needs Chromium:
/usr/bin/chromium or HOSTMEM_CHROMIUM). Ctrl-C stops the workloads, releases the host's memory and exits.

Prometheus metrics are at /metrics, behind the same token, also accepted as "Authorization: Bearer TOKEN" (a
scrape_config's authorization), or behind a metrics-only token (--metrics-token-file) that opens nothing else. With
--metrics-only nothing else is served (no dashboard, no socket): the first line printed is then the metrics URL, and
the renderer need not be built. --watch PID walks that process once a second and exports it by region type
(hostmem_process_*) until it exits; --watch NAME watches every process of that name, now and later (restarts, new
workers, a program not started yet), per pid and summed (hostmem_namegroup_*). Each watch's health is exported
(hostmem_watch_*: processes walked, walks, errors by reason).

The token is random at each start unless --token-file FILE (a file only its owner may read: chmod 600) or the
HOSTMEM_TOKEN variable gives it (the file wins); such a token is never printed. Anything but loopback needs
--allow-remote and TLS (--tls-cert, --tls-key: PEM files); the Host header must still name this machine (its host
name or addresses, or an --allowed-host), and the printed URL uses a name another machine can reach.

Options:
  --host ADDR           address to listen on (default 127.0.0.1; anything but loopback needs --allow-remote)
  --port N              port (default 0: any free port)
  --scenario NAME       workload started at once (default ${DEFAULT_SCENARIO}, or none with --metrics-only;
                        'none' for none)
  --commit-limit SIZE   the host's commit limit, e.g. 256MiB (default: none)
  --reserve-limit SIZE  the host's reserve limit
  --allow-remote        allow a non-loopback --host (needs --tls-cert and --tls-key)
  --tls-cert FILE       serve HTTPS with this certificate (PEM) ...
  --tls-key FILE        ... and its private key (PEM)
  --allowed-host NAME   a name the Host header may also carry, e.g. a DNS name (repeatable; * for any)
  --token-file FILE     the token, from a file only its owner may read (default: HOSTMEM_TOKEN, else random)
  --metrics-token-file FILE
                        a second token that opens /metrics only (default: HOSTMEM_METRICS_TOKEN, else none)
  --metrics-only        serve /metrics only, for Prometheus on headless machines
  --watch PID|NAME      export this process (PID) or every process of this name (NAME) in /metrics (repeatable)
  --pid PID|NAME        open the dashboard on this process (Processes view, watched at once); a name must match
                        exactly one process
  -h, --help            show this help

Environment: HOSTMEM_RENDERER_DIR overrides where the built renderer is looked for; HOSTMEM_TOKEN and
HOSTMEM_METRICS_TOKEN as above.
`;

interface ServeArgs {
  readonly host: string;
  readonly port: number;
  readonly scenario: string | null;
  readonly policy: HostPolicy;
  readonly allowRemote: boolean;
  readonly metricsOnly: boolean;
  /** Processes to watch, as given (a pid or a name). */
  readonly watch: readonly string[];
  /** The control token when set from outside (never printed), else null (random, printed in the URL). */
  readonly token: Credential | null;
  readonly metricsToken: Credential | null;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | null;
  readonly allowedHosts: readonly string[];
  /** --pid: a pid or a process name, resolved once the inspector is up. */
  readonly process: string | null;
}

function parseServeArgs(argv: readonly string[], env: NodeJS.ProcessEnv): ServeArgs | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      scenario: { type: 'string' },
      'commit-limit': { type: 'string' },
      'reserve-limit': { type: 'string' },
      'allow-remote': { type: 'boolean' },
      'metrics-only': { type: 'boolean' },
      watch: { type: 'string', multiple: true },
      pid: { type: 'string' },
      'token-file': { type: 'string' },
      'metrics-token-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'allowed-host': { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  const port = values.port === undefined ? 0 : integerOption('--port', values.port);
  if (port > 65535) throw new UsageError(`--port: expected 0..65535, got ${port}`);
  // A metrics-only exporter watches; it runs a workload only when asked for one.
  const scenario = values.scenario ?? (values['metrics-only'] ? 'none' : DEFAULT_SCENARIO);
  if (scenario !== 'none' && !getScenario(scenario)) {
    throw new UsageError(
      `unknown scenario ${quote(scenario)} (scenarios: ${SCENARIOS.map((s) => s.name).join(', ')}, none)`,
    );
  }
  const size = (name: string, text: string | undefined): number | null =>
    text === undefined ? null : limitOption(`--${name}`, text);
  const host = values.host ?? '127.0.0.1';
  if (host.length === 0) throw new UsageError('--host: expected an address');
  const processQuery = values.pid?.trim() ?? null;
  if (processQuery !== null && (processQuery.length === 0 || processQuery.length > 256)) {
    throw new UsageError('--pid: expected a process id or a process name');
  }
  if (processQuery !== null && /^[0-9]+$/.test(processQuery) && !(Number(processQuery) > 0)) {
    throw new UsageError(`--pid: ${processQuery} is not a process id`);
  }
  return {
    host,
    port,
    scenario: scenario === 'none' ? null : scenario,
    policy: {
      ...DEFAULT_POLICY,
      commitLimit: size('commit-limit', values['commit-limit']),
      reserveLimit: size('reserve-limit', values['reserve-limit']),
    },
    allowRemote: values['allow-remote'] ?? false,
    metricsOnly: values['metrics-only'] ?? false,
    watch: (values.watch ?? []).map((q) => {
      if (q.trim() === '' || q.trim().length > 256) throw new UsageError('--watch: expected a pid or a process name');
      return q.trim();
    }),
    process: processQuery,
    ...credentials(values, env),
    allowedHosts: (values['allowed-host'] ?? []).map((h) => {
      const name = h.trim().toLowerCase();
      if (name === '' || /[\s/@]/.test(name))
        throw new UsageError(`--allowed-host: ${JSON.stringify(h)} is not a host name`);
      return name.replace(/^\[(.*)\]$/, '$1');
    }),
  };
}

function credentials(
  values: { 'token-file'?: string; 'metrics-token-file'?: string; 'tls-cert'?: string; 'tls-key'?: string },
  env: NodeJS.ProcessEnv,
): Pick<ServeArgs, 'token' | 'metricsToken' | 'tls'> {
  try {
    const token = tokenFrom(values['token-file'], '--token-file', env, 'HOSTMEM_TOKEN');
    const metricsToken = tokenFrom(values['metrics-token-file'], '--metrics-token-file', env, 'HOSTMEM_METRICS_TOKEN');
    if (token && metricsToken && token.token === metricsToken.token) {
      throw new UsageError(`${metricsToken.source}: the metrics token must differ from the control token`);
    }
    return { token, metricsToken, tls: readTls(values['tls-cert'], values['tls-key']) };
  } catch (error) {
    if (error instanceof CredentialError) throw new UsageError(error.message);
    throw error;
  }
}

/** out/renderer next to the CLI bundle (out/cli/hostmem.js), or HOSTMEM_RENDERER_DIR. */
export function rendererDir(): string {
  const env = process.env.HOSTMEM_RENDERER_DIR;
  if (env) return resolve(env);
  const here = dirname(fileURLToPath(import.meta.url));
  // out/cli/hostmem.js → out/renderer; a bundled test sits deeper (out/tests/main/cli/…): walk up to out/.
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'renderer', 'index.html');
    if (existsSync(candidate)) return join(dir, 'renderer');
    if (existsSync(join(dir, 'out', 'renderer', 'index.html'))) return join(dir, 'out', 'renderer');
  }
  return join(here, '..', 'renderer');
}

function describeFind(found: Exclude<Awaited<ReturnType<typeof findProcess>>, { kind: 'found' }>): string {
  switch (found.kind) {
    case 'none':
      return `no running process has this id or name`;
    case 'several':
      return `${found.matches.length} processes have this name (${found.matches
        .slice(0, 10)
        .map((p) => p.pid)
        .join(', ')}${found.matches.length > 10 ? ', …' : ''}): give the pid`;
    case 'error':
      return describeProcessError(found.error);
  }
}

export async function serveCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let args: ServeArgs | 'help';
  try {
    args = parseServeArgs(argv, process.env);
  } catch (error) {
    return usageFailure(io, 'serve', error);
  }
  if (args === 'help') {
    io.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (!isLoopback(args.host) && !args.allowRemote) {
    io.stderr.write(
      `hostmem serve: --host ${args.host} is not a loopback address; anyone who reaches it with the token controls this process's memory. Pass --allow-remote (with --tls-cert and --tls-key) to do it anyway.\n`,
    );
    return 2;
  }
  if (!isLoopback(args.host) && args.tls === null) {
    io.stderr.write(
      `hostmem serve: --host ${args.host} is not a loopback address and there is no TLS: the token would cross the network in clear; give --tls-cert and --tls-key\n`,
    );
    return 2;
  }

  // The processes to open or watch, found before anything starts: a pid that is not running is a usage error; a
  // name is a group, watched whether or not such a process runs now.
  const inspector = createProcessInspector();
  const toWatch: { pid: number; name: string }[] = [];
  const groupsToWatch: string[] = [];
  for (const query of args.watch) {
    if (!/^[0-9]+$/.test(query)) {
      groupsToWatch.push(query);
      continue;
    }
    const found = await findProcess(inspector, query);
    if (found.kind !== 'found') {
      io.stderr.write(`hostmem serve: --watch ${query}: ${describeFind(found)}\n`);
      return 2;
    }
    toWatch.push({ pid: found.process.pid, name: found.process.name });
  }
  let watchPid: number | null = null;
  if (args.process !== null) {
    const found = await findProcess(inspector, args.process);
    if (found.kind !== 'found') {
      io.stderr.write(`hostmem serve: --pid ${args.process}: ${describeFind(found)}\n`);
      return 2;
    }
    watchPid = found.process.pid;
  }

  const host = createHost({ policy: args.policy });
  const sampler = createSampler(host, { intervalMs: 250 });
  const publisher = createPublisher(host, sampler, { maxPushesPerSecond: 20 });
  // Before any call, so that its counters agree with the host's own (e.g. failures by level).
  const watched = new WatchedProcesses();
  const metrics = createHostMetrics({ host, sampler, version: pkg.version, processes: watched });
  // Exported reports wait in a private temporary folder as one-time downloads; the server removes it when it closes.
  const downloads = createReportDownloads();
  const service = createService({
    host,
    sampler,
    publisher,
    transport: 'websocket',
    version: pkg.version,
    saveReport: downloads.saveReport,
    saveProcessReport: downloads.saveProcessReport,
    inspector,
    // A process watched in the dashboard is exported in /metrics too, for as long as it is watched.
    onProcessWatcher: (watcher, name) => watched.add(watcher, name),
  });
  sampler.start();

  const shutdown = async (): Promise<void> => {
    await downloads.close();
    await service.dispose();
    publisher.stop();
    metrics.dispose();
    watched.dispose();
    sampler.stop();
    host.dispose();
  };

  let server;
  try {
    server = await startServer({
      service,
      ...(!args.metricsOnly && { staticDir: rendererDir() }),
      host: args.host,
      port: args.port,
      allowRemote: args.allowRemote,
      downloads,
      metrics,
      metricsOnly: args.metricsOnly,
      ...(args.token && { token: args.token.token }),
      ...(args.metricsToken && { metricsToken: args.metricsToken.token }),
      ...(args.tls && { tls: args.tls }),
      allowedHosts: args.allowedHosts,
    });
  } catch (error) {
    await shutdown();
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`hostmem serve: ${message}\n`);
    return error instanceof ServeError ? 2 : 1;
  }
  // Listening for Ctrl-C before the URL is out: a Ctrl-C right after it still stops cleanly.
  // The first Ctrl-C (or SIGTERM) stops gracefully: connections closed, workloads stopped, memory released. A second
  // one during that finishes at once — the temporary download folder removed and the host's memory released — rather
  // than killing the process with its temporary files left behind.
  // A terminal's Ctrl-C under `npm start` can arrive twice at once (the terminal's and the one npm forwards): a repeat
  // within REPEAT_MS of the first is that same Ctrl-C.
  const REPEAT_MS = 1000;
  let signals = 0;
  let firstAt = 0;
  let onSecond: (() => void) | undefined;
  const onSignal = (signal: string): void => {
    if (signals === 1 && Date.now() - firstAt < REPEAT_MS) return;
    signals++;
    if (signals === 1) {
      firstAt = Date.now();
      io.stderr.write(`hostmem serve: stopping (${signal})… (again to stop at once)\n`);
      resolveStop?.();
    } else if (signals === 2) {
      io.stderr.write(`hostmem serve: stopping at once (${signal})\n`);
      onSecond?.();
    }
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  let resolveStop: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => {
    resolveStop = resolve;
  });
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  // The page opens the Processes view on `#processes/PID` (a fragment: never sent to the server). A token that
  // came from a file or the environment is not printed.
  const url = args.token ? server.urlWithoutToken : server.url;
  io.stdout.write(`hostmem serving at ${url}${watchPid === null ? '' : `#processes/${watchPid}`}\n`);
  if (args.token) io.stderr.write(`hostmem serve: the token is the one from ${args.token.source} (not printed)\n`);
  if (!args.metricsOnly || args.metricsToken) {
    const which = args.metricsToken ? `the metrics token from ${args.metricsToken.source}, or the token` : 'same token';
    io.stderr.write(`hostmem serve: Prometheus metrics at ${server.metricsUrl} (${which})\n`);
  }
  if (!isLoopback(args.host)) {
    io.stderr.write(
      `hostmem serve: WARNING: listening on ${args.host} (not loopback, over TLS): anyone who can reach this machine and has the token${args.metricsOnly ? ' can read the metrics' : ' can allocate and free memory in this process'}.\n`,
    );
  }
  for (const name of groupsToWatch) {
    const group = watched.watchName(inspector, name, { keepAlive: false });
    void group.rescan().then(() => {
      const pids = group.pids();
      io.stderr.write(
        `hostmem serve: watching every process named ${name} (${pids.length === 0 ? 'none running yet' : `pid ${pids.join(', ')}`})\n`,
      );
    });
  }
  for (const { pid, name } of toWatch) {
    const watcher = watched.watch(inspector, pid, name);
    io.stderr.write(`hostmem serve: watching ${name} (pid ${pid})\n`);
    void watcher.done.then((end) => {
      io.stderr.write(`hostmem serve: stopped watching ${name} (pid ${pid}): ${end}\n`);
    });
  }
  if (args.scenario !== null) {
    try {
      const started = service.startWorkload(args.scenario);
      io.stderr.write(`hostmem serve: workload ${started.id} (${started.name}) running\n`);
    } catch (error) {
      io.stderr.write(
        `hostmem serve: could not start ${args.scenario}: ${error instanceof Error ? error.message : String(error)}\n`,
      );
    }
  }

  try {
    await stopped;
    const graceful = (async () => {
      await server.close();
      await shutdown();
      return 'graceful' as const;
    })();
    const atOnce = new Promise<'at once'>((resolve) => {
      onSecond = () => resolve('at once');
    });
    const how = await Promise.race([graceful, atOnce]);
    if (how === 'at once') {
      await downloads.close();
      sampler.stop();
      host.dispose();
      io.stderr.write('hostmem serve: stopped\n');
      return 130;
    }
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  io.stderr.write('hostmem serve: stopped\n');
  return 0;
}
