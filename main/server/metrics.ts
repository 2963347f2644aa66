/**
 * `GET /metrics`: the Prometheus exposition of main/metrics, in the format the request's Accept header prefers
 * (OpenMetrics or the 0.0.4 text format). The caller (./index) has already checked Host, Origin and the token.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HostMetrics } from '../metrics';

export const METRICS_PATH = '/metrics';

/** What the route needs of main/metrics. */
export type MetricsScraper = Pick<HostMetrics, 'scrape'>;

export function serveMetrics(req: IncomingMessage, res: ServerResponse, metrics: MetricsScraper): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' });
    res.end();
    return;
  }
  metrics.scrape(req.headers.accept).then(
    ({ contentType, body }) => {
      const bytes = Buffer.from(body, 'utf8');
      res.writeHead(200, {
        'content-type': contentType,
        'content-length': bytes.length,
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      res.end(req.method === 'HEAD' ? undefined : bytes);
    },
    (error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`Could not collect the metrics: ${error instanceof Error ? error.message : String(error)}\n`);
    },
  );
}
