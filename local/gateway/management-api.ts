/**
 * The local `@connections` API, the one the handler's signed delivery requests call:
 * `POST` sends to a connection, `GET` describes it, `DELETE` closes it. Answers as AWS does:
 * 410 `GoneException` for a connection that is not open, 413 over the message limit, 429 over the
 * account's request budget, 403 for an unsigned call, a call the caller's IAM policy does not allow
 * (when an authorizer is given), a path without the stage, or anything else.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_ID, awsError, LOCAL_ACCOUNT, LOCAL_REGION } from './aws-shapes';
import { readBody, requestUrl } from './io';
import type { SignedRequest, Verdict } from '../aws/signatures';
import type { TokenBucket } from './throttle';
import { MAX_WEBSOCKET_MESSAGE_BYTES, WebSocketApi } from './websocket-api';

/**
 * Asks IAM whether the caller (the access key id it signed with) may make this call: the refusal's
 * sentence, or `undefined` when allowed.
 */
export type ManagementAuthorizer = (accessKeyId: string, request: { action: string; resource: string }) => string | undefined;

/** Checks a request's SigV4 signature against the credentials the stack knows (local/aws/signatures.ts). */
export type SignatureCheck = (request: SignedRequest) => Promise<Verdict>;

export class ManagementApi {
  private readonly path: RegExp;

  constructor(
    private readonly webSocket: WebSocketApi,
    private readonly stage: string,
    /** The account's request budget, which `@connections` calls share with every API. */
    private readonly accountBucket?: TokenBucket,
    private readonly authorize?: ManagementAuthorizer,
    /** Without one, a signature is checked for its shape only (a gateway on its own, in its tests). */
    private readonly checkSignature?: SignatureCheck,
    /** Said to a request for anything but `@connections` on this port: most likely meant for the HTTP API. */
    private readonly wrongPortHint?: () => string,
  ) {
    this.path = new RegExp(`^/${escapeRegExp(stage)}/@connections/([^/]+)$`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    const match = this.path.exec(url.pathname);
    if (!match) return awsError(res, 403, 'ForbiddenException', 'Forbidden', this.wrongPortHint?.());
    // Only SigV4-signed calls are accepted, and with a checker, only correctly signed ones.
    const signed =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/[^/]+\/execute-api\/aws4_request, SignedHeaders=[^,]+, Signature=[0-9a-f]{64}$/.exec(
        req.headers.authorization ?? '',
      );
    if (!signed) return awsError(res, 403, 'ForbiddenException', 'Missing Authentication Token');
    const body = await readBody(req, MAX_WEBSOCKET_MESSAGE_BYTES + 1);
    if (this.checkSignature) {
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(',') : value]),
      );
      const verdict = await this.checkSignature({ method: req.method ?? '', path: url.pathname, headers, body: body.toString('utf8') });
      if (verdict === 'unknown key')
        return awsError(res, 403, 'ForbiddenException', 'The security token included in the request is invalid.');
      if (verdict === 'expired') return awsError(res, 403, 'ForbiddenException', 'The security token included in the request is expired');
      if (verdict === 'bad signature') {
        return awsError(res, 403, 'ForbiddenException', 'The request signature we calculated does not match the signature you provided.');
      }
    }
    // IAM names the connection as it appears in the path.
    const refused = this.authorize?.(signed[1], {
      action: 'execute-api:ManageConnections',
      resource: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${API_ID}/${this.stage}/${req.method}/@connections/${match[1]}`,
    });
    if (refused) return awsError(res, 403, 'ForbiddenException', refused);
    if (this.accountBucket && !this.accountBucket.take()) return awsError(res, 429, 'LimitExceededException', 'Too Many Requests');
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      return awsError(res, 410, 'GoneException', null);
    }
    const open = this.webSocket.open(id);
    switch (req.method) {
      case 'POST': {
        if (!open) return awsError(res, 410, 'GoneException', null);
        if (body.length > MAX_WEBSOCKET_MESSAGE_BYTES) {
          return awsError(res, 413, 'PayloadTooLargeException', 'Request entity too large');
        }
        open.socket.send(body.toString('utf8'));
        res.writeHead(200).end();
        return;
      }
      case 'GET':
        if (!open) return awsError(res, 410, 'GoneException', null);
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            connectedAt: new Date(open.connectedAt).toISOString(),
            lastActiveAt: new Date(open.lastActiveAt).toISOString(),
            identity: { sourceIp: open.sourceIp, userAgent: open.userAgent },
          }),
        );
        return;
      case 'DELETE':
        if (!open) return awsError(res, 410, 'GoneException', null);
        // Closing fires the socket's close handler, which invokes $disconnect.
        open.socket.close(1000, '');
        res.writeHead(204).end();
        return;
      default:
        return awsError(res, 403, 'ForbiddenException', 'Forbidden');
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
