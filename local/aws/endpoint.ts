/**
 * The local stack's AWS endpoint: one loopback server the handler's AWS calls go to, as LocalStack
 * has one edge port. It serves
 * - DynamoDB (`X-Amz-Target: DynamoDB_20120810.*`), forwarded to dynalite;
 * - Secrets Manager `GetSecretValue` for the stack's two secrets (the master key, the sealing secret);
 * - Lambda `Invoke` with `InvocationType: Event`, the handler's background tasks;
 * - EventBridge `PutEvents`, each entry written as one line of JSON, shaped as the event a rule's
 *   target receives, to a file;
 * and checks every call signed with the handler role's credentials against that role's policy
 * first, answering a refusal exactly as each service does. Calls signed with other credentials
 * (tests, tools: an administrator) are not checked.
 */
import { randomUUID } from 'node:crypto';
import { appendFile } from 'node:fs/promises';
import { Agent, createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import type { Authorization } from '../iam/policy';
import { fieldText, readBody, requestUrl } from '../gateway/io';
import { dynamoAuthorizations } from './dynamodb';

export interface LocalSecret {
  readonly arn: string;
  readonly name: string;
  readonly value: string;
  /** When this version was created (epoch ms). */
  readonly createdAt: number;
}

export interface AwsEndpointOptions {
  /** dynalite's endpoint, where DynamoDB calls go once allowed. */
  readonly dynamoEndpoint: string;
  readonly region: string;
  readonly account: string;
  readonly secrets: readonly LocalSecret[];
  /** The function `Invoke` reaches, by name, and what runs an `Event` invocation of it. */
  readonly functionName: string;
  readonly invokeAsync: (payload: unknown) => void;
  /** Where `PutEvents` entries go, one JSON line each; absent, EventBridge is not served. */
  readonly eventsFile?: string;
  /**
   * The access key id the handler signs with, and what its role's policy says of a call's
   * authorizations: the refusal's sentence, or `undefined` when allowed. Absent: nothing is checked.
   */
  readonly enforce?: {
    readonly isHandler: (accessKeyId: string) => boolean;
    readonly check: (requests: readonly Authorization[]) => string | undefined;
  };
  /** Credentials the stack has revoked (an ended Lambda sandbox's): every call signed with them is refused as expired. */
  readonly isRevoked?: (accessKeyId: string) => boolean;
  /** Fault injection for tests: what a DynamoDB call gets instead of its answer (`hang`: none, ever). */
  readonly dynamoFault?: DynamoFault;
  readonly host?: string;
}

/** A DynamoDB call as the fault injector sees it. */
export interface DynamoCall {
  /** `Query`, `PutItem`, … */
  readonly operation: string;
  readonly input: Record<string, unknown>;
  readonly accessKeyId?: string;
}

/** Decides a DynamoDB call's fault: an error answered in DynamoDB's shape, `hang`, or none. */
export type DynamoFault = (
  call: DynamoCall,
) => 'hang' | { readonly status: number; readonly type: string; readonly message: string } | undefined;

/** DynamoDB's request limit (16 MB); Lambda's asynchronous payload limit (256 KB). */
const MAX_DYNAMODB_REQUEST_BYTES = 16 * 1024 * 1024;
const MAX_EVENT_PAYLOAD_BYTES = 256 * 1024;
/** EventBridge's PutEvents request limit. */
const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** The access key id of a SigV4 `Authorization` header. */
export function signingKeyId(authorization: string | undefined): string | undefined {
  return /^AWS4-HMAC-SHA256 Credential=([^/]+)\//.exec(authorization ?? '')?.[1];
}

export class LocalAwsEndpoint {
  private readonly server: Server;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private address = '';

  constructor(private readonly options: AwsEndpointOptions) {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch(() => {
        if (!res.headersSent) jsonError(res, 500, 'InternalFailure', 'The local AWS endpoint failed');
        else res.destroy();
      });
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.options.host ?? '127.0.0.1', () => resolve());
    });
    const { address, port } = this.server.address() as { address: string; port: number };
    this.address = `${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  get url(): string {
    return `http://${this.address}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.agent.destroy();
  }

  /** The first of `requests` the handler's policy refuses, if the caller is the handler. */
  private refusal(req: IncomingMessage, requests: readonly Authorization[]): string | undefined {
    const enforce = this.options.enforce;
    const keyId = signingKeyId(req.headers.authorization);
    if (!enforce || keyId === undefined || !enforce.isHandler(keyId)) return undefined;
    return enforce.check(requests);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const keyId = signingKeyId(req.headers.authorization);
    if (keyId !== undefined && this.options.isRevoked?.(keyId)) {
      // As each service answers credentials that have expired (a sandbox Lambda has ended holds none).
      req.resume();
      return target.startsWith('DynamoDB_20120810.')
        ? jsonError(
            res,
            400,
            'com.amazon.coral.service#ExpiredTokenException',
            'The security token included in the request is expired',
            'application/x-amz-json-1.0',
          )
        : jsonError(res, 403, 'ExpiredTokenException', 'The security token included in the request is expired');
    }
    const invoke = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(requestUrl(req).pathname);
    if (target.startsWith('DynamoDB_20120810.')) return this.dynamodb(req, res, target.slice('DynamoDB_20120810.'.length));
    if (target.startsWith('secretsmanager.')) return this.secretsManager(req, res, target.slice('secretsmanager.'.length));
    if (target === 'AWSEvents.PutEvents' && this.options.eventsFile) return this.putEvents(req, res, this.options.eventsFile);
    if (invoke && req.method === 'POST') return this.lambdaInvoke(req, res, decodeURIComponent(invoke[1]));
    jsonError(
      res,
      400,
      'UnknownOperationException',
      'The local AWS endpoint serves DynamoDB, Secrets Manager GetSecretValue and Lambda Invoke',
    );
  }

  private async dynamodb(req: IncomingMessage, res: ServerResponse, operation: string): Promise<void> {
    const body = await readBody(req, MAX_DYNAMODB_REQUEST_BYTES + 1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const refused = this.refusal(req, dynamoAuthorizations(operation, parsed, this.options.region, this.options.account));
    if (refused) return jsonError(res, 400, 'com.amazon.coral.service#AccessDeniedException', refused, 'application/x-amz-json-1.0');
    const fault = this.options.dynamoFault?.({
      operation,
      input: (parsed ?? {}) as Record<string, unknown>,
      accessKeyId: signingKeyId(req.headers.authorization),
    });
    // Held until the stack stops: the caller's own timeout (or its Lambda's) is all that ends it.
    if (fault === 'hang') return;
    if (fault)
      return jsonError(res, fault.status, `com.amazonaws.dynamodb.v20120810#${fault.type}`, fault.message, 'application/x-amz-json-1.0');
    await this.forward(req, res, body);
  }

  /** Sends the request on to dynalite as it came, and its answer back as it comes. */
  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const { hostname, port } = new URL(this.options.dynamoEndpoint);
    return new Promise((resolve, reject) => {
      const upstream = request(
        { host: hostname.replace(/^\[|\]$/g, ''), port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });
  }

  private async secretsManager(req: IncomingMessage, res: ServerResponse, operation: string): Promise<void> {
    const body = await readBody(req, 64 * 1024);
    if (!signingKeyId(req.headers.authorization)) {
      return jsonError(res, 400, 'MissingAuthenticationTokenException', 'Missing Authentication Token', 'application/x-amz-json-1.1');
    }
    if (operation !== 'GetSecretValue') {
      return jsonError(
        res,
        400,
        'UnknownOperationException',
        `The local stack serves GetSecretValue only, not ${operation}`,
        'application/x-amz-json-1.1',
      );
    }
    let input: { SecretId?: unknown; VersionStage?: unknown };
    try {
      input = JSON.parse(body.toString('utf8')) as typeof input;
    } catch {
      return jsonError(res, 400, 'SerializationException', 'The request body is not JSON', 'application/x-amz-json-1.1');
    }
    const secretId = fieldText(input.SecretId ?? '');
    const secret = this.options.secrets.find((s) => s.arn === secretId || s.name === secretId);
    // IAM is asked about the secret's ARN; an unknown id is authorized as given.
    const refused = this.refusal(req, [{ action: 'secretsmanager:GetSecretValue', resource: secret?.arn ?? secretId }]);
    if (refused) return jsonError(res, 400, 'AccessDeniedException', refused, 'application/x-amz-json-1.1');
    if (!secret)
      return jsonError(
        res,
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
        'application/x-amz-json-1.1',
      );
    const stage = input.VersionStage ?? 'AWSCURRENT';
    if (stage !== 'AWSCURRENT') {
      // The local secrets are never rotated: they have no AWSPREVIOUS version.
      return jsonError(
        res,
        400,
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${fieldText(stage)}`,
        'application/x-amz-json-1.1',
      );
    }
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(
      JSON.stringify({
        ARN: secret.arn,
        Name: secret.name,
        SecretString: secret.value,
        VersionId: '00000000-0000-4000-8000-000000000001',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdAt / 1000,
      }),
    );
  }

  private async putEvents(req: IncomingMessage, res: ServerResponse, file: string): Promise<void> {
    const body = await readBody(req, MAX_PUT_EVENTS_BYTES + 1);
    if (!signingKeyId(req.headers.authorization)) {
      return jsonError(res, 400, 'MissingAuthenticationTokenException', 'Missing Authentication Token', 'application/x-amz-json-1.1');
    }
    if (body.length > MAX_PUT_EVENTS_BYTES)
      return jsonError(res, 400, 'ValidationException', 'Total size of the entries in the request is over the limit.');
    let entries: Record<string, unknown>[];
    try {
      entries = (JSON.parse(body.toString('utf8')) as { Entries: Record<string, unknown>[] }).Entries;
      if (!Array.isArray(entries) || entries.length < 1 || entries.length > 10) throw new Error('bad entries');
    } catch {
      return jsonError(res, 400, 'ValidationException', 'Entries must hold 1 to 10 entries');
    }
    const busArn = (name: unknown) =>
      `arn:aws:events:${this.options.region}:${this.options.account}:event-bus/${fieldText(name ?? 'default')}`;
    const refused = this.refusal(
      req,
      entries.map((entry) => ({ action: 'events:PutEvents', resource: busArn(entry.EventBusName) })),
    );
    if (refused) return jsonError(res, 400, 'AccessDeniedException', refused);
    const ids = entries.map(() => randomUUID());
    const lines = entries.map((entry, i) =>
      JSON.stringify({
        version: '0',
        id: ids[i],
        'detail-type': entry.DetailType,
        source: entry.Source,
        account: this.options.account,
        time: new Date(typeof entry.Time === 'number' ? entry.Time * 1000 : Date.now()).toISOString(),
        region: this.options.region,
        resources: entry.Resources ?? [],
        detail: JSON.parse(fieldText(entry.Detail ?? '{}')) as unknown,
        'event-bus': busArn(entry.EventBusName),
      }),
    );
    await appendFile(file, lines.map((line) => `${line}\n`).join(''), { mode: 0o600 });
    res
      .writeHead(200, { 'content-type': 'application/x-amz-json-1.1' })
      .end(JSON.stringify({ FailedEntryCount: 0, Entries: ids.map((EventId) => ({ EventId })) }));
  }

  private async lambdaInvoke(req: IncomingMessage, res: ServerResponse, functionId: string): Promise<void> {
    const body = await readBody(req, MAX_EVENT_PAYLOAD_BYTES + 1);
    if (!signingKeyId(req.headers.authorization))
      return restError(res, 403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    // A name, a full ARN, or a partial ARN (`account:function:name`).
    const name = /(?:^|:)function:([^:]+)/.exec(functionId)?.[1] ?? functionId;
    const arn = `arn:aws:lambda:${this.options.region}:${this.options.account}:function:${name}`;
    const refused = this.refusal(req, [{ action: 'lambda:InvokeFunction', resource: arn }]);
    if (refused) return restError(res, 403, 'AccessDeniedException', refused);
    if (name !== this.options.functionName) return restError(res, 404, 'ResourceNotFoundException', `Function not found: ${arn}`);
    if (req.headers['x-amz-invocation-type'] !== 'Event') {
      return restError(res, 400, 'InvalidParameterValueException', 'The local stack runs asynchronous (Event) invocations only');
    }
    if (body.length > MAX_EVENT_PAYLOAD_BYTES) {
      return restError(
        res,
        413,
        'RequestEntityTooLargeException',
        `Request must be smaller than ${MAX_EVENT_PAYLOAD_BYTES} bytes for the InvokeAsync operation`,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      return restError(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
    this.options.invokeAsync(payload);
    res.writeHead(202, { 'x-amzn-requestid': randomUUID() }).end();
  }
}

/** The AWS JSON protocol's error: the type in `__type`, the sentence in `Message`. */
function jsonError(res: ServerResponse, status: number, type: string, message: string, contentType = 'application/x-amz-json-1.1'): void {
  res
    .writeHead(status, { 'content-type': contentType, 'x-amzn-requestid': randomUUID() })
    .end(JSON.stringify({ __type: type, Message: message }));
}

/** Lambda's REST-JSON error: the type in a header, `Type` and `Message` in the body. */
function restError(res: ServerResponse, status: number, type: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() })
    .end(JSON.stringify({ Type: 'User', Message: message }));
}
