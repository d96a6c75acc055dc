// The probe and metrics endpoints: `/healthz` (liveness: the process and its watch are alive), `/readyz` (readiness:
// the cache has synced), `/metrics` (Prometheus). Each check is a function the caller provides.

import { createServer } from 'node:http';
import type { Server } from 'node:http';

export interface Check {
  readonly name: string;
  readonly check: () => string | undefined; // undefined = ok, else the reason it fails
}

export interface ProbeServerOptions {
  readonly address: string; // ":8081", "127.0.0.1:0"
  readonly healthz?: readonly Check[];
  readonly readyz?: readonly Check[];
  readonly metrics?: () => Promise<{ contentType: string; body: string }>;
}

export function parseBindAddress(address: string): { host: string; port: number } {
  const match = /^(.*):([0-9]+)$/.exec(address);
  if (!match) throw new Error(`bind address "${address}" is not host:port or :port`);
  const host = match[1] === '' ? '0.0.0.0' : (match[1] ?? '0.0.0.0').replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(match[2]) };
}

export async function startProbeServer(options: ProbeServerOptions): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const run = (checks: readonly Check[] | undefined): { ok: boolean; text: string } => {
    const lines: string[] = [];
    let ok = true;
    for (const c of checks ?? []) {
      const failure = c.check();
      if (failure) ok = false;
      lines.push(failure ? `[-]${c.name} failed: ${failure}` : `[+]${c.name} ok`);
    }
    return { ok, text: ok ? 'ok' : lines.join('\n') };
  };
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz' || path === '/readyz') {
      const result = run(path === '/healthz' ? options.healthz : options.readyz);
      res.writeHead(result.ok ? 200 : 500, { 'content-type': 'text/plain' }).end(result.text);
      return;
    }
    if (path === '/metrics' && options.metrics) {
      options
        .metrics()
        .then((m) => res.writeHead(200, { 'content-type': m.contentType }).end(m.body))
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
      return;
    }
    res.writeHead(404).end('not found');
  });
  const { host, port } = parseBindAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = server.address();
  return {
    server,
    port: typeof bound === 'object' && bound ? bound.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
