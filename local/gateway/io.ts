/** Small HTTP server helpers the three local APIs share. */
import { IncomingMessage, Server, ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

export function sendJson(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * Answers an upgrade request with a plain HTTP response instead of switching protocols, then
 * destroys the socket once the answer is flushed: a refused client holds nothing open.
 */
export function refuseUpgrade(socket: Duplex, status: number, body = '', headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const text = body ?? '';
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n${extra}Connection: close\r\n\r\n${text}`,
    () => socket.destroy(),
  );
}

/**
 * The request's URL. Resolved against a base, `//x` would name host `x` and `//` would throw;
 * API Gateway takes the whole request target as the path.
 */
export function requestUrl(req: IncomingMessage): URL {
  const target = req.url ?? '/';
  try {
    return new URL(target.startsWith('/') ? `http://localhost${target}` : target);
  } catch {
    return new URL('http://localhost/');
  }
}

/** Reads a body, stopping at `limit` bytes so an oversize one cannot exhaust memory. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      req.resume();
      return Buffer.alloc(limit);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A field of a parsed JSON request as text: a string as it is; anything else, which a client
 * should not have sent, as its JSON (not `[object Object]`).
 */
export const fieldText = (value: string | number | boolean | object | null): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/** Listens, resolving with `host:port`. */
export function listen(server: Server, port: number, host: string, setting: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`Port ${port} on ${host} is already in use; set ${setting} to another port`) : error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const { address, port: bound } = server.address() as AddressInfo;
      resolve(`${address.includes(':') ? `[${address}]` : address}:${bound}`);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
