/**
 * The hot path's HTTP/1.1 client against real sockets: servers that answer in every shape AWS
 * endpoints may use, split across packets at random, and the failures callers must see as such.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Http1Pool, NoResponseError } from '../../../lambda/adapters/http1-pool';

const GET = (path = '/') => `GET ${path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n`;

/** A raw TCP server: `answer` writes what it likes for each request head it reads. */
async function rawServer(answer: (socket: Socket, request: string, index: number) => void) {
  const sockets = new Set<Socket>();
  let requests = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Each piece its own packet, so the client meets every split.
    socket.setNoDelay(true);
    let buffer = '';
    socket.on('data', (data) => {
      buffer += data.toString('latin1');
      for (let end = buffer.indexOf('\r\n\r\n'); end >= 0; end = buffer.indexOf('\r\n\r\n')) {
        const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, end))?.[1] ?? 0);
        if (buffer.length < end + 4 + length) return;
        const request = buffer.slice(0, end + 4 + length);
        buffer = buffer.slice(end + 4 + length);
        answer(socket, request, requests++);
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: new URL(`http://127.0.0.1:${port}`),
    connections: () => sockets.size,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Writes `bytes` in pieces cut at `cuts`, each piece in its own turn of the event loop. */
async function writeInPieces(socket: Socket, bytes: Buffer, cuts: number[]) {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    if (to > from) socket.write(bytes.subarray(from, to));
    from = to;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const chunked = (body: string, sizes: number[]) => {
  let out = '';
  let at = 0;
  for (const size of sizes) {
    if (at >= body.length) break;
    const piece = body.slice(at, at + Math.max(1, size));
    at += piece.length;
    out += `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`;
  }
  if (at < body.length) out += `${Buffer.byteLength(body.slice(at)).toString(16)}\r\n${body.slice(at)}\r\n`;
  return `${out}0\r\n\r\n`;
};

describe('Http1Pool', () => {
  it('reads Content-Length and chunked answers whatever the packets, and keeps one socket alive for them all', async () => {
    let next: Buffer = Buffer.alloc(0);
    let cuts: number[] = [];
    const server = await rawServer((socket) => void writeInPieces(socket, next, cuts));
    const pool = new Http1Pool(server.url, { maxSockets: 1 });
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.string({ maxLength: 300 }),
          fc.boolean(),
          fc.array(fc.nat(40), { maxLength: 6 }),
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.constantFrom(200, 201, 202, 400, 403, 404, 410, 413, 429, 500, 502, 503, 504),
          async (body, useChunks, sizes, pieces, status) => {
            const head = `HTTP/1.1 ${status} Whatever\r\nx-amzn-ErrorType: GoneException:http://internal.amazon.com/\r\n`;
            next = Buffer.from(
              useChunks
                ? `${head}Transfer-Encoding: chunked\r\n\r\n${chunked(body, sizes)}`
                : `${head}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
            );
            cuts = pieces;
            const answer = await pool.request(GET(), '', 2000);
            expect(answer).toEqual({
              status,
              body,
              headers: expect.objectContaining({ 'x-amzn-errortype': 'GoneException:http://internal.amazon.com/' }),
            });
          },
        ),
        { numRuns: 150 },
      );
      expect(server.connections()).toBe(1);
    } finally {
      pool.destroy();
      await server.close();
    }
  });

  it('skips interim 100 answers, reads a body up to the close, and opens a new socket after Connection: close', async () => {
    const server = await rawServer((socket, _, index) => {
      if (index === 0)
        socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end');
    });
    const pool = new Http1Pool(server.url);
    try {
      expect(await pool.request(GET(), '', 2000)).toMatchObject({ status: 202, body: 'ok' });
      expect(await pool.request(GET(), '', 2000)).toMatchObject({ status: 200, body: 'until the end' });
    } finally {
      pool.destroy();
      await server.close();
    }
  });

  it('fails a request as a network error when the server hangs up mid-answer or answers garbage, and carries on', async () => {
    const server = await rawServer((socket, request) => {
      if (request.startsWith('GET /cut')) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
      else if (request.startsWith('GET /garbage')) socket.write('SMTP ready\r\n\r\n');
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    const pool = new Http1Pool(server.url);
    try {
      await expect(pool.request(GET('/cut'), '', 2000)).rejects.toMatchObject({ name: 'NoResponseError', reason: 'network' });
      await expect(pool.request(GET('/garbage'), '', 2000)).rejects.toMatchObject({ reason: 'network' });
      expect(await pool.request(GET('/fine'), '', 2000)).toMatchObject({ status: 200, body: '' });
    } finally {
      pool.destroy();
      await server.close();
    }
  });

  it('abandons a request with no answer in time, destroying its socket', async () => {
    const server = await rawServer((socket, request) => {
      if (!request.startsWith('GET /hang')) socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const pool = new Http1Pool(server.url, { maxSockets: 1 });
    try {
      const started = Date.now();
      await expect(pool.request(GET('/hang'), '', 100)).rejects.toEqual(new NoResponseError('timeout'));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await pool.request(GET('/after'), '', 2000)).toMatchObject({ status: 204 });
    } finally {
      pool.destroy();
      await server.close();
    }
  });

  it('opens at most maxSockets, queueing the rest, and starts each timeout only when its request has a socket', async () => {
    let open = 0;
    let most = 0;
    const server = await rawServer((socket) => {
      setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx'), 60);
    });
    const pool = new Http1Pool(server.url, { maxSockets: 2 });
    try {
      const answers = await Promise.all(
        Array.from({ length: 8 }, async () => {
          open++;
          most = Math.max(most, open);
          // 8 requests × 60 ms over 2 sockets take ~240 ms: a 100 ms timeout would fail the
          // queued ones if it counted the queue.
          const answer = await pool.request(GET(), '', 100);
          open--;
          return answer.status;
        }),
      );
      expect(answers).toEqual(Array(8).fill(200));
      expect(server.connections()).toBe(2);
    } finally {
      pool.destroy();
      await server.close();
    }
  });

  it('speaks TLS to https origins, verifying the certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pool-tls-'));
    // A throwaway certificate for 127.0.0.1, made for this test only.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) =>
      res.end(`tls ${req.method} ${req.url}`),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = new URL(`https://127.0.0.1:${(server.address() as { port: number }).port}`);
    const trusting = new Http1Pool(url, { ca: cert });
    const untrusting = new Http1Pool(url);
    try {
      expect(await trusting.request(GET('/a'), '', 2000)).toMatchObject({ status: 200, body: 'tls GET /a' });
      expect(await trusting.request(GET('/b'), '', 2000)).toMatchObject({ status: 200, body: 'tls GET /b' });
      await expect(untrusting.request(GET('/c'), '', 2000)).rejects.toMatchObject({ reason: 'network' });
    } finally {
      trusting.destroy();
      untrusting.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
