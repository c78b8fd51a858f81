/**
 * A stand-in for an AWS JSON API (Secrets Manager, Lambda) over real HTTP that accepts a request
 * only if `@smithy/signature-v4` — the SDK's own signer — computes the same signature for it, as
 * AWS would; otherwise 403 `InvalidSignatureException`. Answers come from a script.
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../../local/aws/signatures';

export const TEST_AWS = {
  region: 'eu-west-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session//token=' },
};

export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface StandInReply {
  readonly status: number;
  readonly body?: unknown;
  readonly errorType?: string;
}

export { Sha256 };

export class AwsJsonStandIn {
  /** Requests whose signature checked out, in order. */
  readonly received: ReceivedRequest[] = [];
  /** Requests refused for their signature. */
  rejected = 0;
  private readonly server: Server;
  private readonly signer: SignatureV4;

  constructor(
    service: string,
    private readonly reply: (request: ReceivedRequest) => StandInReply,
  ) {
    this.signer = new SignatureV4({ service, region: TEST_AWS.region, credentials: TEST_AWS.credentials, sha256: Sha256 });
    this.server = createServer((req, res) => void this.serve(req, res));
  }

  /** Checks a request's signature, then answers it as `reply` says. */
  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = await read(req);
    const send = (status: number, body: unknown, errorType?: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(errorType && { 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/` }),
      });
      res.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (!(await this.verify(request))) {
      this.rejected++;
      return send(
        403,
        { message: 'The request signature we calculated does not match the signature you provided.' },
        'InvalidSignatureException',
      );
    }
    this.received.push(request);
    const answer = this.reply(request);
    send(answer.status, answer.body, answer.errorType);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Signs what was received, with the signed headers only, at its own date, and compares. */
  private async verify({ method, path, headers, body }: ReceivedRequest): Promise<boolean> {
    const authorization = headers.authorization ?? '';
    const signedNames = /SignedHeaders=([^,]+)/.exec(authorization)?.[1].split(';') ?? [];
    const date = headers['x-amz-date'];
    if (!date || !signedNames.includes('host')) return false;
    const signed = Object.fromEntries(signedNames.filter((n) => n !== 'authorization').map((n) => [n, headers[n] ?? '']));
    const at = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const expected = await this.signer.sign(
      { method, protocol: 'http:', hostname: headers.host, path, query: {}, headers: signed, body },
      { signingDate: at },
    );
    return expected.headers.authorization === authorization;
  }
}

async function read(req: IncomingMessage): Promise<ReceivedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
  return { method: req.method ?? '', path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') };
}
