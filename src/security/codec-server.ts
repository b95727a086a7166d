import Fastify, { type FastifyInstance } from 'fastify';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import type { AesGcmCodec } from './codec';

/** The codec server protocol the Temporal UI and CLI speak: payloads as JSON with base64 bytes. */
const body = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).optional(), data: z.string().optional() })),
});

const fromJson = (p: z.infer<typeof body>['payloads'][number]): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

/**
 * `/encode` and `/decode` for the Temporal UI (`--codec-endpoint`, or its
 * codec setting) and `temporal --codec-endpoint`: whoever reaches it reads
 * decoded payloads, so it listens where only those allowed can.
 */
export function createCodecServer(codec: AesGcmCodec, origins: string[]): FastifyInstance {
  const app = Fastify();
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && origins.includes(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-methods', 'POST, OPTIONS');
      reply.header('access-control-allow-headers', 'content-type, x-namespace, authorization');
      reply.header('vary', 'origin');
    }
    if (request.method === 'OPTIONS') return reply.code(204).send();
  });
  for (const [route, apply] of [
    ['/encode', (p: Payload[]) => codec.encode(p)],
    ['/decode', (p: Payload[]) => codec.decode(p)],
  ] as const) {
    app.options(route, async (_request, reply) => reply.code(204).send());
    app.post(route, async (request, reply) => {
      const parsed = body.safeParse(request.body);
      if (!parsed.success)
        return reply.code(400).send({ error: 'BadRequest', message: 'expected {"payloads": [{"metadata": {…}, "data": "base64"}]}' });
      try {
        return { payloads: (await apply(parsed.data.payloads.map(fromJson))).map(toJson) };
      } catch (err) {
        return reply.code(400).send({ error: 'BadRequest', message: (err as Error).message });
      }
    });
  }
  return app;
}
