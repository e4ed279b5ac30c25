// A load balancer in front of several webhook instances, as a multi-instance deployment has one:
// each request goes to a randomly chosen (seeded) instance; an instance that is down answers
// nothing, so the request fails with 502 and Telegram (the sandbox) delivers it again later,
// most likely to another instance.
import { createServer, request, type Server } from "node:http";

export interface Balancer {
  url: string;
  /** Requests forwarded, per instance port. */
  forwarded: Map<number, number>;
  failed: number;
  close(): Promise<void>;
}

export async function startBalancer(
  ports: readonly number[],
  random: () => number,
): Promise<Balancer> {
  const forwarded = new Map<number, number>(ports.map((p) => [p, 0]));
  const state = { failed: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const port = ports[Math.floor(random() * ports.length)]!;
      const upstream = request(
        {
          host: "127.0.0.1",
          port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: `127.0.0.1:${port}` },
        },
        (up) => {
          forwarded.set(port, (forwarded.get(port) ?? 0) + 1);
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => {
        state.failed++;
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/telegram`,
    forwarded,
    get failed() {
      return state.failed;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
