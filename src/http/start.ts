import type { FastifyInstance } from 'fastify';
import { createHttpServer, type HttpDeps } from './server';

/**
 * Listens on COURIER_HTTP_PORT. Without COURIER_HTTP_TOKEN nothing guards the
 * mutating routes, so the server binds to loopback only, whatever the host says.
 */
export async function startHttpServer(deps: HttpDeps): Promise<{ app: FastifyInstance; url: string }> {
  const { http } = deps.config;
  const host = http.token ? http.host : '127.0.0.1';
  if (!http.token && http.host !== '127.0.0.1' && http.host !== 'localhost') {
    deps.logger.warn({ host: http.host }, 'COURIER_HTTP_TOKEN is not set: the HTTP API listens on 127.0.0.1 only');
  }
  const app = createHttpServer(deps);
  const auth = http.token ? 'bearer token required' : 'no token: loopback only';
  const address = await app.listen({ port: http.port, host, listenTextResolver: (at) => `HTTP API listening at ${at} (${auth})` });
  return { app, url: address };
}
