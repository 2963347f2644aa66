/**
 * `hostmem serve`'s transport: the built renderer over HTTP and the contract over a WebSocket (`/ws`), both behind
 * a random token. Loopback by default; a non-loopback address must be asked for explicitly (`allowRemote`).
 *
 * Every HTTP request and every socket needs the token, as `?token=` or as the `hostmem_token` cookie (set, HttpOnly
 * and SameSite=Strict, when a page is served with a valid query token, so the page's own assets and socket carry
 * it). Missing or wrong token: 401. A request whose `Origin` is not the server's own, or whose `Host` is not one of
 * the server's names (DNS rebinding): 403. Refusals happen before anything is read or upgraded.
 *
 * Exported reports are downloads (`downloads.ts`): `GET /download/<id>`, behind the same checks, serves a report file
 * once as an attachment.
 *
 * With `metrics`, `GET /metrics` serves the Prometheus exposition (./metrics.ts), behind the same checks; the token
 * is also accepted as `Authorization: Bearer <token>`, which is what a Prometheus `scrape_config` sends. A separate
 * `metricsToken` opens /metrics and nothing else (so a Prometheus server holds no credential that controls the host).
 * `metricsOnly` serves nothing else: no pages, no socket (headless machines, and the desktop app's endpoint).
 *
 * Remote (`allowRemote`, a non-loopback address) needs TLS (`tls`: a certificate and its key, PEM): the token would
 * otherwise cross the network in clear. The Host check stays on: the names it answers to are its loopback names, the
 * address it is bound to (for a wildcard bind, this machine's host name and addresses) and `allowedHosts` (`*`:
 * any). The URLs it reports use a name another machine can reach (`origin`).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseRequestFrame, type Push, type ResponseFrame, type ServerFrame } from '../contract';
import type { Service } from '../service';
import { DOWNLOAD_PATH, type ReportDownloads } from './downloads';
import { METRICS_PATH, serveMetrics, type MetricsScraper } from './metrics';

export { createReportDownloads, reportStamp, type ReportDownloads, type ReportDownloadsOptions } from './downloads';
export { METRICS_PATH, type MetricsScraper } from './metrics';

export const TOKEN_COOKIE = 'hostmem_token';

export interface ServerOptions {
  readonly service: Service;
  /** Folder of the built renderer (index.html, assets/). Required unless `metricsOnly`. */
  readonly staticDir?: string;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0 (any free port). */
  readonly port?: number;
  /** Needed for a host that is not a loopback address. */
  readonly allowRemote?: boolean;
  /** Default: 32 random bytes, base64url. */
  readonly token?: string;
  /** Largest incoming WebSocket message. Default 1 MiB. */
  readonly maxPayload?: number;
  /** Past this many bytes queued on a socket, pushes to it are dropped and it gets a full message later. 16 MiB. */
  readonly maxBuffered?: number;
  /**
   * The report downloads whose `saveReport` the service was given: served at `/download/<id>`, and closed (their
   * folder removed) when the server closes. Without it, `/download/…` is 404.
   */
  readonly downloads?: ReportDownloads;
  /** Served at /metrics (Prometheus text format, or OpenMetrics when asked). Without it, /metrics is 404. */
  readonly metrics?: MetricsScraper;
  /** Serve /metrics only: no dashboard pages, no WebSocket (needs `metrics`). */
  readonly metricsOnly?: boolean;
  /** A second token that opens /metrics only (never a page or the socket); must differ from `token`. */
  readonly metricsToken?: string;
  /** Serve HTTPS with this certificate and key (PEM). Required for a non-loopback `host`. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** More names the Host header may carry (with the port); `*` turns the Host check off. */
  readonly allowedHosts?: readonly string[];
}

export interface RunningServer {
  /** `http://127.0.0.1:PORT/?token=…` (`/metrics?token=…` when metrics only) */
  readonly url: string;
  /** `http(s)://NAME:PORT`, NAME one another machine can use when bound to a wildcard address. */
  readonly origin: string;
  /** `url` without the token. */
  readonly urlWithoutToken: string;
  readonly token: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT/metrics` when metrics are served (the token goes in a Bearer header or `?token=`). */
  readonly metricsUrl: string | null;
  readonly host: string;
  /** Open sockets now. */
  readonly connections: number;
  /** Close every socket and stop listening. */
  close(): Promise<void>;
}

export class ServeError extends Error {}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** An address that binds every interface. */
export function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** `[v6]` for an IPv6 address, the name itself otherwise (as a URL and a Host header write it). */
const urlHost = (name: string): string => (name.includes(':') && !name.startsWith('[') ? `[${name}]` : name);

/** This machine's names for a wildcard bind: its host name and every interface address. */
function machineNames(): string[] {
  const names = [hostname()];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) names.push(a.address);
  }
  return names;
}

/** The name the printed URL uses for a wildcard bind: an allowed host, else a non-internal IPv4, else the host name. */
function publicName(allowed: readonly string[]): string {
  const named = allowed.find((h) => h !== '*');
  if (named) return named;
  for (const list of Object.values(networkInterfaces())) {
    const v4 = list?.find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return v4.address;
  }
  return hostname();
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  // A header that is not a Bearer token still counts as a (wrong) credential: never fall back to the cookie.
  return match ? match[1]! : '';
}

function cookieToken(req: IncomingMessage): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === TOKEN_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** How many times a header came (Node folds some repeats into one value: `rawHeaders` still has them all). */
function headerCount(req: IncomingMessage, name: string): number {
  let n = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]?.toLowerCase() === name) n++;
  return n;
}

/**
 * Why the server could not listen, as one sentence (a ServeError: a usage problem, exit 2). The OS's code stays on it
 * (`code: 'EADDRINUSE'`) for callers that say it in their own words (the app's Settings).
 */
function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const sentence = (text: string): Error => Object.assign(new ServeError(text), { code: error.code });
  switch (error.code) {
    case 'EADDRINUSE':
      return sentence(`port ${port} on ${host} is already in use: pick another --port, or 0 for any free port`);
    case 'EACCES':
      return sentence(`port ${port} on ${host} needs privileges this user does not have: pick a port above 1023`);
    case 'EADDRNOTAVAIL':
      return sentence(`${host} is not an address of this machine: pick one of its addresses for --host`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return sentence(`--host ${host}: no such host name`);
    default:
      return error;
  }
}

type Verdict =
  | { readonly ok: true; readonly viaQuery: boolean }
  | { readonly ok: false; readonly status: 400 | 401 | 403; readonly why: string };

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const bindHost = options.host ?? '127.0.0.1';
  if (!isLoopback(bindHost) && !options.allowRemote) {
    throw new ServeError(
      `--host ${bindHost} is not a loopback address: anyone who can reach it and learns the token controls this process's memory; pass --allow-remote to do it anyway`,
    );
  }
  if (!isLoopback(bindHost) && !options.tls) {
    throw new ServeError(
      `--host ${bindHost} is not a loopback address and there is no TLS: the token would cross the network in clear; give --tls-cert and --tls-key`,
    );
  }
  if (options.metricsToken !== undefined && options.metricsToken === options.token) {
    throw new ServeError('the metrics token must differ from the control token');
  }
  const scheme = options.tls ? 'https' : 'http';
  const allowed = options.allowedHosts ?? [];
  const anyHost = allowed.includes('*');
  const metricsOnly = options.metricsOnly ?? false;
  if (metricsOnly && !options.metrics) throw new ServeError('metricsOnly needs metrics to serve');
  if (!metricsOnly && options.staticDir === undefined) throw new ServeError('no renderer folder given');
  const staticDir = resolve(options.staticDir ?? '.');
  if (!metricsOnly && !existsSync(join(staticDir, 'index.html'))) {
    throw new ServeError(`the renderer is not built (no ${join(staticDir, 'index.html')}): run npm run build:app`);
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const maxBuffered = options.maxBuffered ?? 16 * 1024 * 1024;
  const service = options.service;
  let port = 0;

  /** Host names this server answers to (the Host header must be one, with the port): made once it listens. */
  let names = new Set<string>();
  const answerTo = (): Set<string> => {
    const hosts = ['127.0.0.1', 'localhost', '::1', ...allowed];
    if (isWildcard(bindHost)) hosts.push(...machineNames());
    else hosts.push(bindHost);
    const defaultPort = port === (options.tls ? 443 : 80);
    return new Set(
      hosts.flatMap((h) => {
        const name = urlHost(h.toLowerCase());
        return defaultPort ? [`${name}:${port}`, name] : [`${name}:${port}`];
      }),
    );
  };

  const check = (req: IncomingMessage, metricsRoute = false): Verdict => {
    // Node keeps the first of several Host headers: a request with two is ambiguous (which name was checked?).
    if (headerCount(req, 'host') > 1) return { ok: false, status: 400, why: 'more than one Host header' };
    const hostHeader = req.headers.host ?? '';
    if (!anyHost && !names.has(hostHeader.toLowerCase())) {
      return { ok: false, status: 403, why: 'unexpected Host header (--allowed-host adds a name)' };
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `${scheme}://${hostHeader}`) {
      return { ok: false, status: 403, why: 'cross-origin request refused' };
    }
    let query: string | undefined;
    try {
      query = new URL(req.url ?? '/', 'http://x').searchParams.get('token') ?? undefined;
    } catch {
      return { ok: false, status: 401, why: 'bad URL' };
    }
    const refused: Verdict = {
      ok: false,
      status: 401,
      why: 'a valid token is required (the URL hostmem serve printed, or Authorization: Bearer <token>)',
    };
    // The metrics token opens /metrics, and nothing else.
    const good = (given: string | undefined): boolean =>
      sameToken(given, token) ||
      (metricsRoute && options.metricsToken !== undefined && sameToken(given, options.metricsToken));
    if (query !== undefined) return good(query) ? { ok: true, viaQuery: true } : refused;
    const bearer = bearerToken(req);
    if (bearer !== undefined) return good(bearer) ? { ok: true, viaQuery: false } : refused;
    if (sameToken(cookieToken(req), token)) return { ok: true, viaQuery: false };
    return refused;
  };

  const refuse = (res: ServerResponse, status: number, why: string): void => {
    res.writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...(status === 401 && { 'www-authenticate': 'Bearer realm="hostmem"' }),
    });
    res.end(`${status === 401 ? 'Unauthorized' : status === 400 ? 'Bad Request' : 'Forbidden'}: ${why}\n`);
  };

  const serveFile = (req: IncomingMessage, res: ServerResponse, viaQuery: boolean): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      refuse(res, 403, 'bad path');
      return;
    }
    if (pathname.includes('\0')) return refuse(res, 403, 'bad path');
    const relative = pathname === '/' ? 'index.html' : normalize(pathname).replace(/^([/\\])+/, '');
    const file = resolve(staticDir, relative);
    if (file !== staticDir && !file.startsWith(staticDir + sep)) return refuse(res, 403, 'outside the app');
    let stat;
    try {
      stat = statSync(file);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
      return;
    }
    if (!stat.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('Not found\n');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': stat.size,
      'x-content-type-options': 'nosniff',
      // The token is in the page's URL: never send it anywhere as a referrer.
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cache-control': file.endsWith('.html') ? 'no-store' : 'private, max-age=3600',
    };
    if (viaQuery) headers['set-cookie'] = `${TOKEN_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict`;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  };

  const notFound = (res: ServerResponse, why = 'Not found'): void => {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`${why}\n`);
  };

  /** A report file, once: taken from the list before the first byte, deleted when sent (or when sending failed). */
  const serveDownload = (req: IncomingMessage, res: ServerResponse, id: string): void => {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' });
      res.end();
      return;
    }
    const file = options.downloads?.take(id);
    if (!file) return notFound(res, 'Not found: a download link works once, for 10 minutes');
    let size: number;
    try {
      size = statSync(file.path).size;
    } catch {
      file.done();
      return notFound(res);
    }
    res.writeHead(200, {
      'content-type': file.contentType,
      'content-length': size,
      // The name is ours (hostmem-report-<stamp>.<ext>): plain ASCII, nothing to quote.
      'content-disposition': `attachment; filename="${file.name}"`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cache-control': 'no-store',
      // Should a browser show the HTML report rather than save it: no script, no request, nothing but its own CSS.
      'content-security-policy': "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    });
    const stream = createReadStream(file.path);
    // Deleted once its handle is closed (Windows cannot delete an open file): sent, failed or abandoned alike.
    stream.once('close', () => file.done());
    stream.once('error', () => res.destroy());
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayload ?? 1024 * 1024 });

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return refuse(res, 403, 'bad path');
    }
    const verdict = check(req, pathname === METRICS_PATH);
    if (!verdict.ok) return refuse(res, verdict.status, verdict.why);
    if (pathname === METRICS_PATH && options.metrics) return serveMetrics(req, res, options.metrics);
    if (metricsOnly) return notFound(res, `Not found: this server serves ${METRICS_PATH} only`);
    if (pathname.startsWith(DOWNLOAD_PATH)) return serveDownload(req, res, pathname.slice(DOWNLOAD_PATH.length));
    serveFile(req, res, verdict.viaQuery);
  };
  let http: Server;
  try {
    http = options.tls
      ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest)
      : createServer(onRequest);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ServeError(`the TLS certificate and key cannot be used: ${why}`);
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = check(req);
    let pathname = '';
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      // refused below
    }
    const reject = (status: number, why: string): void => {
      socket.end(
        `HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Forbidden'}\r\n` +
          `Content-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`,
      );
    };
    if (!verdict.ok) return reject(verdict.status, verdict.why);
    if (metricsOnly) return reject(404, `this server serves ${METRICS_PATH} only`);
    if (pathname !== '/ws') return reject(404, 'the socket is at /ws');
    wss.handleUpgrade(req, socket, head, (ws) => connect(ws));
  });

  const connect = (ws: WebSocket): void => {
    const sendFrame = (frame: ServerFrame): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(JSON.stringify(frame));
    };
    const session = service.connect((message: Push) => {
      if (ws.readyState !== ws.OPEN) throw new Error('socket not open');
      // A client that does not read: drop the push; the publisher's next one to it is a full message.
      if (ws.bufferedAmount > maxBuffered) throw new Error('client too slow');
      ws.send(JSON.stringify({ t: 'push', message } satisfies ServerFrame));
    });
    ws.on('message', (data, isBinary) => {
      let frame: unknown;
      try {
        frame = isBinary ? undefined : JSON.parse(data.toString());
      } catch {
        frame = undefined;
      }
      const parsed = parseRequestFrame(frame);
      if (!parsed.ok) {
        sendFrame({ t: 'res', id: parsed.id, ok: false, error: parsed.error } satisfies ResponseFrame);
        return;
      }
      void session.handle(parsed.request).then((answer) => {
        sendFrame(
          answer.ok
            ? { t: 'res', id: parsed.id, ok: true, result: answer.value }
            : { t: 'res', id: parsed.id, ok: false, error: answer.error },
        );
      });
    });
    ws.on('close', () => session.close());
    ws.on('error', () => {
      session.close();
      ws.terminate();
    });
  };

  await new Promise<void>((resolveListen, rejectListen) => {
    http.once('error', (error: NodeJS.ErrnoException) => rejectListen(listenError(error, bindHost, options.port ?? 0)));
    http.listen(options.port ?? 0, bindHost, () => {
      http.off('error', rejectListen);
      resolveListen();
    });
  });
  port = (http.address() as AddressInfo).port;
  names = answerTo();
  const origin = `${scheme}://${urlHost(isWildcard(bindHost) ? publicName(allowed) : bindHost)}:${port}`;
  const urlWithoutToken = metricsOnly ? `${origin}${METRICS_PATH}` : `${origin}/`;

  return {
    url: `${urlWithoutToken}?token=${token}`,
    urlWithoutToken,
    origin,
    token,
    port,
    metricsUrl: options.metrics ? `${origin}${METRICS_PATH}` : null,
    host: bindHost,
    get connections() {
      return wss.clients.size;
    },
    close: async () => {
      await new Promise<void>((done) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => done());
      });
      await options.downloads?.close();
    },
  };
}
