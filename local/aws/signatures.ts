/**
 * SigV4 verification for the local stack's AWS endpoints, as AWS checks a request: the access key id
 * must be one the stack knows, and the signature must be the one its secret makes for this method,
 * path, signed headers and body (recomputed with `@smithy/signature-v4`, the SDK's own signer).
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

type Bytes = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (data: Bytes) =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** Node's hashing in the shape @smithy/signature-v4 takes. */
export class Sha256 {
  private readonly hash;
  constructor(secret?: Bytes) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: Bytes) {
    this.hash.update(toBuffer(data));
  }
  digest() {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }
}

export interface SignedRequest {
  readonly method: string;
  /** The path as received (still URL-encoded). */
  readonly path: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}

/** `expired`: credentials the stack handed out and has since revoked (an ended Lambda sandbox's). */
export type Verdict = 'valid' | 'unknown key' | 'expired' | 'bad signature';

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/;

export class SignatureVerifier {
  /** Secret access keys by access key id: the credentials the stack hands out. */
  private readonly secrets: Map<string, string>;
  private readonly revoked = new Set<string>();

  constructor(secrets: Readonly<Record<string, string>>) {
    this.secrets = new Map(Object.entries(secrets));
  }

  /** Hands out credentials (a new Lambda sandbox's). */
  grant(accessKeyId: string, secretAccessKey: string): void {
    this.secrets.set(accessKeyId, secretAccessKey);
  }

  /** Ends credentials: calls signed with them are refused as expired from now on. */
  revoke(accessKeyId: string): void {
    this.secrets.delete(accessKeyId);
    this.revoked.add(accessKeyId);
  }

  isRevoked(accessKeyId: string | undefined): boolean {
    return accessKeyId !== undefined && this.revoked.has(accessKeyId);
  }

  async verify(request: SignedRequest): Promise<Verdict> {
    const authorization = request.headers.authorization ?? '';
    const parts = AUTHORIZATION.exec(authorization);
    const date = request.headers['x-amz-date'];
    if (!parts || !date) return 'bad signature';
    const [, accessKeyId, , region, service, signedNames] = parts;
    if (this.revoked.has(accessKeyId)) return 'expired';
    const secretAccessKey = this.secrets.get(accessKeyId);
    if (secretAccessKey === undefined) return 'unknown key';
    const names = signedNames.split(';');
    const headers = Object.fromEntries(names.map((name) => [name, request.headers[name] ?? '']));
    const signer = new SignatureV4({
      service,
      region,
      credentials: { accessKeyId, secretAccessKey, sessionToken: request.headers['x-amz-security-token'] },
      sha256: Sha256,
    });
    const signingDate = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const expected = await signer.sign(
      {
        method: request.method,
        protocol: 'http:',
        hostname: request.headers.host ?? '',
        path: request.path,
        query: {},
        headers,
        body: request.body,
      },
      { signingDate },
    );
    return expected.headers.authorization === authorization ? 'valid' : 'bad signature';
  }
}
