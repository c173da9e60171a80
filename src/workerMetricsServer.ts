// A worker's GET /metrics (WORKER_METRICS_PORT): its paycenter_* metrics followed by the Temporal
// SDK's own, which the SDK's Prometheus exporter serves on a loopback port of its own, so that
// Prometheus scrapes one target per worker and sees both.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

/** How long a scrape waits for the SDK's exporter before answering without its metrics. */
const sdkScrapeTimeoutMs = 2_000;

/**
 * One exposition of ours and one of the SDK's (or why it is missing, as a comment a scraper
 * ignores). Their metric families never share a name: ours are paycenter_*, nodejs_* and process_*,
 * the SDK's temporal_*.
 */
export function mergedExposition(
  ours: string,
  sdk: { text: string } | { missing: string },
): string {
  const head = ours.endsWith('\n') || ours === '' ? ours : `${ours}\n`;
  if ('missing' in sdk) return `${head}# Temporal SDK metrics unavailable: ${sdk.missing}\n`;
  return sdk.text.endsWith('\n') || sdk.text === '' ? head + sdk.text : `${head}${sdk.text}\n`;
}

async function sdkExposition(
  url: string | undefined,
): Promise<{ text: string } | { missing: string }> {
  if (!url) return { missing: 'the Temporal Runtime of this process was installed without them' };
  try {
    const answer = await fetch(url, { signal: AbortSignal.timeout(sdkScrapeTimeoutMs) });
    if (!answer.ok) return { missing: `the SDK exporter answered ${answer.status}` };
    return { text: await answer.text() };
  } catch (err) {
    return { missing: `the SDK exporter did not answer (${(err as Error).name})` };
  }
}

export interface WorkerMetricsServer {
  url: string;
  stop(): Promise<void>;
}

/** Serves GET /metrics on host:port (port 0: any free one); everything else is 404. */
export async function serveWorkerMetrics(options: {
  host: string;
  port: number;
  registry: Registry;
  /** The SDK exporter's URL, when this process's Runtime exports the SDK's metrics. */
  sdkMetricsUrl: string | undefined;
  log: Logger;
}): Promise<WorkerMetricsServer> {
  const { registry, sdkMetricsUrl, log } = options;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    Promise.all([registry.metrics(), sdkExposition(sdkMetricsUrl)])
      .then(([ours, sdk]) => {
        res
          .writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
          .end(mergedExposition(ours, sdk));
      })
      .catch((err: unknown) => {
        log.error({ err }, 'worker metrics could not be collected');
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('error\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold the worker's stop.
        server.closeAllConnections();
      }),
  };
}

/** A loopback port that was free a moment ago, for the SDK's exporter when none is configured. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = http.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
