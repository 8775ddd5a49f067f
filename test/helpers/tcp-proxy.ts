import net from 'node:net';
import { listenOnLoopback } from '../../harness/loopback.js';

/**
 * A TCP proxy on loopback between a client and a broker, with a byte-rate limit on the client→broker
 * direction that keeps TCP back-pressure (it stops reading while over budget), as a slow uplink does.
 */
export interface TcpProxy {
  port: number;
  url: string;
  /** Bytes per second client→broker; undefined lifts the limit. */
  setRate(bytesPerSecond: number | undefined): void;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let rate: number | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    upstream.pipe(client);
    // Client → broker, metered in 50 ms slices.
    let budget = 0;
    let lastRefill = Date.now();
    const refill = (): void => {
      const now = Date.now();
      if (rate !== undefined) budget = Math.min(rate / 10, budget + ((now - lastRefill) / 1000) * rate);
      lastRefill = now;
    };
    client.on('data', (data: Buffer) => {
      if (rate === undefined) { if (!upstream.write(data)) { client.pause(); upstream.once('drain', () => client.resume()); } return; }
      refill();
      budget -= data.length;
      upstream.write(data);
      if (budget < 0) {
        client.pause();
        const wait = Math.ceil((-budget / rate) * 1000);
        setTimeout(() => { refill(); if (!client.destroyed) client.resume(); }, wait);
      }
    });
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    setRate: (bytesPerSecond) => { rate = bytesPerSecond; },
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
