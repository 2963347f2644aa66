/**
 * The desktop app's Prometheus endpoint: off by default; when the settings turn it on, a metrics-only server
 * (main/server) on 127.0.0.1 at the settings' port, behind the settings' own token (a Bearer header or `?token=`).
 * Loopback only, always: a scrape from another machine goes through `hostmem serve --metrics-only --allow-remote`.
 * Changes apply at once (a new port or token restarts it); a port that is taken leaves it off with the reason.
 *
 * No Electron here: tested in plain Node over real HTTP (metrics-endpoint.test.ts).
 */
import { randomBytes } from 'node:crypto';
import type { MetricsEndpointStatus } from '../contract';
import type { HostMetrics } from '../metrics';
import { startServer, type RunningServer } from '../server';
import type { Service } from '../service';

/** The settings this reads. */
export interface MetricsEndpointSettings {
  readonly metricsEnabled: boolean;
  readonly metricsPort: number;
  readonly metricsToken: string;
}

/** A new endpoint token: 32 random bytes, base64url (43 characters). */
export function newMetricsToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The token to use: the settings' own, or a new one when they have none yet (the caller saves it). */
export function metricsTokenFor(settings: MetricsEndpointSettings): { token: string; generated: boolean } {
  return settings.metricsToken === ''
    ? { token: newMetricsToken(), generated: true }
    : { token: settings.metricsToken, generated: false };
}

export class MetricsEndpoint {
  private server: RunningServer | null = null;
  private serving: { port: number; token: string } | null = null;
  private error: string | null = null;
  /** Applies run one after the other (a quick on/off/on must not leave two servers). */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly service: Service,
    private readonly metrics: Pick<HostMetrics, 'scrape'>,
  ) {}

  status(): MetricsEndpointStatus {
    return { url: this.server?.metricsUrl ?? null, error: this.error };
  }

  /** Start, restart or stop the endpoint as the settings say; resolves with what it is then. */
  apply(settings: MetricsEndpointSettings): Promise<MetricsEndpointStatus> {
    const next = this.queue.then(() => this.applyNow(settings));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): Promise<MetricsEndpointStatus> {
    return this.apply({ metricsEnabled: false, metricsPort: 0, metricsToken: '' });
  }

  private async applyNow(settings: MetricsEndpointSettings): Promise<MetricsEndpointStatus> {
    const wanted =
      settings.metricsEnabled && settings.metricsToken !== ''
        ? { port: settings.metricsPort, token: settings.metricsToken }
        : null;
    if (this.server && wanted && this.serving?.port === wanted.port && this.serving.token === wanted.token) {
      return this.status();
    }
    if (this.server) {
      const old = this.server;
      this.server = null;
      this.serving = null;
      await old.close();
    }
    this.error = settings.metricsEnabled && !wanted ? 'no metrics token yet' : null;
    if (!wanted) return this.status();
    try {
      this.server = await startServer({
        service: this.service,
        metrics: this.metrics,
        metricsOnly: true,
        host: '127.0.0.1',
        port: wanted.port,
        token: wanted.token,
      });
      this.serving = wanted;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      this.error =
        code === 'EADDRINUSE'
          ? `port ${wanted.port} is already in use on 127.0.0.1: choose another one`
          : `could not listen on 127.0.0.1:${wanted.port}: ${error instanceof Error ? error.message : String(error)}`;
    }
    return this.status();
  }
}
