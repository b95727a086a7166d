import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to the requests passing through it; changed while it runs. */
export interface Faults {
  /** Response headers x-amz-checksum-* removed: a server that keeps no checksums. */
  stripChecksums?: boolean;
  /** The share of requests (0–1) given one of `kinds` instead of a clean answer. */
  failRate?: number;
  kinds?: FaultKind[];
  /** Every request refused (connection reset) until cleared: the store is down. */
  outage?: boolean;
  /** Requests this picks are left unanswered for good: a server that hangs. */
  hang?: (method: string, url: string) => boolean;
}

/**
 * - `5xx`: answered 503 SlowDown without reaching the server.
 * - `reset`: the connection dropped before any answer.
 * - `slow`: forwarded after a pause of up to 3 s.
 * - `truncate`: the server's answer cut off halfway through its body.
 */
export type FaultKind = '5xx' | 'reset' | 'slow' | 'truncate';

export interface FaultProxy {
  endpoint: string;
  faults: Faults;
  /** How many requests met each fault so far. */
  injected: Record<FaultKind | 'outage' | 'hang', number>;
  requests: number;
  /** Each is told of every request that reaches the server, with its answer's status. */
  forwarded: Set<(method: string, url: string, status: number) => void>;
  close(): Promise<void>;
}

const CHECKSUM_HEADER = /^x-amz-checksum-/i;

/**
 * An HTTP proxy in front of a real S3 server that injects faults on demand.
 * Requests are forwarded with their headers as sent, Host included, so the
 * server still accepts the client's signatures.
 */
export async function startFaultProxy(target: string, faults: Faults = {}, random: () => number = Math.random): Promise<FaultProxy> {
  const upstream = new URL(target);
  const injected: FaultProxy['injected'] = { '5xx': 0, reset: 0, slow: 0, truncate: 0, outage: 0, hang: 0 };
  const proxy = { faults, injected, requests: 0, forwarded: new Set() } as FaultProxy;

  const server = http.createServer((req, res) => {
    proxy.requests++;
    if (proxy.faults.outage) {
      injected.outage++;
      req.socket.destroy();
      return;
    }
    if (proxy.faults.hang?.(req.method ?? 'GET', req.url ?? '/')) {
      injected.hang++;
      req.resume();
      return;
    }
    const kinds = proxy.faults.kinds ?? ['5xx', 'reset', 'slow', 'truncate'];
    const fault = random() < (proxy.faults.failRate ?? 0) ? kinds[Math.floor(random() * kinds.length)] : undefined;
    if (fault) injected[fault]++;
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault === '5xx') {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected by the fault proxy</Message></Error>');
      return;
    }
    const forward = () => {
      const out = http.request(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          for (const listener of proxy.forwarded) listener(req.method ?? 'GET', req.url ?? '/', answer.statusCode ?? 0);
          const headers = { ...answer.headers };
          if (proxy.faults.stripChecksums) for (const name of Object.keys(headers)) if (CHECKSUM_HEADER.test(name)) delete headers[name];
          res.writeHead(answer.statusCode ?? 502, headers);
          const length = Number(answer.headers['content-length'] ?? 0);
          if (fault === 'truncate' && length > 1) {
            let sent = 0;
            answer.on('data', (chunk: Buffer) => {
              const room = Math.floor(length / 2) - sent;
              if (room > 0) res.write(chunk.subarray(0, room));
              sent += chunk.length;
              if (sent >= length / 2) {
                answer.destroy();
                res.socket?.destroy();
              }
            });
            return;
          }
          answer.pipe(res);
        },
      );
      out.on('error', () => res.socket?.destroy());
      req.pipe(out);
    };
    if (fault === 'slow') setTimeout(forward, Math.floor(random() * 3000));
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
