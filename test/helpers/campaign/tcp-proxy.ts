import net from 'node:net';

/** A TCP forwarder in front of a database, which the campaign can cut off: every connection dropped, new ones refused. */
export interface TcpProxy {
  port: number;
  cut(): void;
  /** Cuts off once this many more bytes have gone from clients to the database: in the middle of a statement or a COPY. */
  cutAfter(bytes: number): Promise<void>;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let down = false;
  let trip: { left: number; tripped: () => void } | undefined;
  const cut = () => {
    down = true;
    for (const socket of sockets) socket.destroy();
  };
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      if (!trip) return;
      trip.left -= chunk.length;
      if (trip.left > 0) return;
      const { tripped } = trip;
      trip = undefined;
      cut();
      tripped();
    });
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut,
    cutAfter: (bytes) => new Promise<void>((tripped) => (trip = { left: bytes, tripped })),
    restore() {
      down = false;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
