/**
 * The whole local stack in one call: dynalite with the product's tables, the local gateway, and
 * the real handler (`lambda/app.ts`) wired to both through the real AWS SDK clients.
 *
 * @example
 * const stack = await startLocalStack({ accessKey: 'secret' });
 * // ws clients connect to stack.webSocketUrl; POST to `${stack.httpUrl}/broadcast`
 * await stack.stop();
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Handler } from '../lambda/edge/app';
import { handlerEnvironment, readConfig, tunableSettings } from '../lambda/contract/config';
import { buildDependencies, handlerFor } from '../lambda/compose';
import { ENV } from '../lambda/contract/config';
import type { BroadcastStack } from '../lib/broadcast-stack';
import { DynamoFault, LocalAwsEndpoint, LocalSecret } from './aws/endpoint';
import { LocalPusherEndpoint } from './cloudfront/pusher-endpoint';
import { SignatureVerifier } from './aws/signatures';
import { GatewayOptions, LocalGateway } from './gateway';
import { API_ID, LOCAL_ACCOUNT, LOCAL_REGION } from './gateway/aws-shapes';
import { FailedInvocation, LOCAL_FUNCTION_NAME, Sandbox } from './gateway/lambda-runtime';
import { deriveHandlerPolicy } from './iam/derive';
import type { Authorization, RolePolicy } from './iam/policy';
import { LOCAL_AWS, LOCAL_TABLE_SETTINGS, startLocalStore } from './store';

/**
 * The handler role's credentials. Each Lambda sandbox signs with session credentials of its own
 * (revoked when the sandbox ends); the local AWS endpoint and `@connections` hold calls signed with
 * any of them, or with these, to the role's policy.
 */
export const HANDLER_CREDENTIALS = { accessKeyId: 'ASIALOCALHANDLERROLE', secretAccessKey: 'local' } as const;
const SANDBOX_KEY_PREFIX = 'ASIALOCALSANDBOX';

/** The stack's two secrets, under ARNs shaped as Secrets Manager's (a name and a 6-character suffix). */
const secretArn = (name: string) => `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}-LoCaL0`;
const ACCESS_KEY_SECRET = 'realtime-broadcast/access-key';
const SEALING_SECRET = 'realtime-broadcast/sealing-secret';

/** The sealing secret of a persisted store lives beside it: keys sealed in one run open in the next. */
async function localSealingSecret(dataDir: string | undefined): Promise<string> {
  const fresh = randomBytes(32).toString('hex');
  if (!dataDir) return fresh;
  const file = path.join(dataDir, 'sealing-secret');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, fresh, { flag: 'wx', mode: 0o600 });
    return fresh;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return (await readFile(file, 'utf8')).trim();
  }
}

/** Lifecycle events go beside the saved store, or into a new folder of their own. */
async function defaultEventsFile(dataDir: string | undefined): Promise<string> {
  const dir = dataDir ?? (await mkdtemp(path.join(tmpdir(), 'realtime-broadcast-')));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, 'lifecycle-events.jsonl');
}

export interface LocalStackOptions {
  /** The HTTP API's access key. */
  readonly accessKey: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly httpPort?: number;
  /** @default 0 (any free port) */
  readonly wsPort?: number;
  /** The Pusher endpoint's port (CloudFront's domain on AWS). @default 0 (any free port) */
  readonly pusherPort?: number;
  /** Persist the store here; in memory when absent. */
  readonly dataDir?: string;
  readonly stage?: string;
  readonly idleTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  readonly fanoutConcurrency?: number;
  /** Refuse WebSocket connections without a valid client token, in every project. @default false */
  readonly requireToken?: boolean;
  /**
   * The secret project keys are sealed with (the stack's `SealingSecret` on AWS). Default: kept in
   * `dataDir/sealing-secret` (created once, mode 0600) when there is a data dir, else a new one per run.
   */
  readonly sealingSecret?: string;
  readonly ttlSweepMs?: number;
  readonly onHandlerError?: (error: unknown) => void;
  /**
   * The handler's tunable settings by variable name (`REQUIRE_API_KEY`, `FANOUT_CONCURRENCY`, …, see
   * `TUNABLE_SETTINGS`), as the construct sets them on AWS; `npm start` passes its environment.
   */
  readonly settings?: Record<string, string | undefined>;
  /** The local gateway's throttles (default: on, at the construct's stage limits and the account's). */
  readonly throttle?: GatewayOptions['throttle'];
  /**
   * IAM: every AWS call the handler makes is checked against its role's policy, derived from the
   * construct (see local/iam/derive.ts). `false` checks nothing; `variant` changes the stack the
   * policy is derived from (tests remove a grant with it). @default on
   */
  readonly iam?: false | { readonly variant?: (stack: BroadcastStack) => void };
  /**
   * Lifecycle events (the construct's `lifecycleEvents`), written one JSON line each, as a rule's
   * target would receive them, to this file. `false`: off. @default `lifecycle-events.jsonl` in
   * `dataDir`, or in a new temporary folder
   */
  readonly lifecycleEventsFile?: string | false;
  /**
   * The function as Lambda runs it: its timeout and concurrency (the construct's `reservedConcurrency`),
   * how Lambda's retry waits are scaled (0.01: 0.6 s and 1.2 s instead of one and two minutes), and
   * the chance each asynchronous event is delivered twice. Its maximum event age is the handler's
   * `TASK_MAX_AGE_SECONDS` setting, as the construct sets both.
   */
  readonly lambda?: {
    readonly timeoutMs?: number;
    readonly concurrency?: number;
    readonly retryDelayScale?: number;
    readonly duplicateEvents?: number;
  };
  /**
   * The failure destination: each background task Lambda gave up, as its on-failure record (an SQS
   * message on AWS). They are also kept (`failedInvocations()`) and written, one JSON line each, to
   * `failed-invocations.jsonl` beside the lifecycle events.
   */
  readonly onFailedInvocation?: (record: FailedInvocation) => void;
  /** Test fault injection: DynamoDB calls that fail or hang. */
  readonly dynamoFault?: DynamoFault;
}

export interface LocalStack {
  readonly webSocketUrl: string;
  readonly httpUrl: string;
  /**
   * The Pusher endpoint, `ws://host:port` (pusher-js's `wsHost` and `wsPort`; clients open
   * `{pusherUrl}/app/{key}`): the construct's CloudFront Function in front of the WebSocket API.
   */
  readonly pusherUrl: string;
  readonly pusherPort: number;
  readonly managementEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly gateway: LocalGateway;
  /** Where the handler's DynamoDB, Secrets Manager and Lambda calls go. */
  readonly awsEndpoint: string;
  /** Where lifecycle events are written, if they are on. */
  readonly lifecycleEventsFile?: string;
  /** The handler role's policy the local stack enforces, if it does. */
  readonly policy?: RolePolicy;
  /** How many of the handler's calls IAM refused so far. */
  deniedCalls(): number;
  /** Each distinct action and resource the handler asked IAM for (connection ids as `{id}`), with the times refused. */
  iamRequests(): ReadonlyMap<string, { readonly asked: number; readonly refused: number }>;
  /** Runs the store's TTL stand-in now. */
  sweepExpired(now?: number): Promise<number>;
  /** The background tasks Lambda gave up so far: the failure destination's messages. */
  failedInvocations(): readonly FailedInvocation[];
  /** Where they are written, one JSON line each. */
  readonly failedInvocationsFile?: string;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const stage = options.stage ?? 'production';
  const secrets: LocalSecret[] = [
    { name: ACCESS_KEY_SECRET, arn: secretArn(ACCESS_KEY_SECRET), value: options.accessKey, createdAt: Date.now() },
    {
      name: SEALING_SECRET,
      arn: secretArn(SEALING_SECRET),
      value: options.sealingSecret ?? (await localSealingSecret(options.dataDir)),
      createdAt: Date.now(),
    },
  ];
  const eventsFile =
    options.lifecycleEventsFile === false ? undefined : (options.lifecycleEventsFile ?? (await defaultEventsFile(options.dataDir)));
  // The names the deployed environment's references stand for, as the local stack has them.
  const resourceSettings = {
    ...(eventsFile && { eventBusName: 'default' }),
    ...LOCAL_TABLE_SETTINGS,
    managementEndpoint: `http://localhost/${stage}`,
    accessKeySecretArn: secretArn(ACCESS_KEY_SECRET),
    sealingSecretArn: secretArn(SEALING_SECRET),
  };
  const policy =
    options.iam === false
      ? undefined
      : await deriveHandlerPolicy(
          {
            region: LOCAL_REGION,
            account: LOCAL_ACCOUNT,
            environment: handlerEnvironment(resourceSettings),
            functionName: LOCAL_FUNCTION_NAME,
            webSocketApiId: API_ID,
            httpApiId: `${API_ID}-http`,
            stageName: stage,
            lifecycleEvents: eventsFile !== undefined,
          },
          { variant: options.iam?.variant },
        );

  const store = await startLocalStore({ dataDir: options.dataDir, ttlSweepMs: options.ttlSweepMs });
  // Every authorization the handler's calls needed, for the closing checks of the tests.
  const requests = new Map<string, { asked: number; refused: number }>();
  let denied = 0;
  const check = (wanted: readonly Authorization[]): string | undefined => {
    const denial = policy!.check(wanted);
    for (const { action, resource } of wanted) {
      const key = `${action} ${resource.replace(/@connections\/[^/]+$/, '@connections/{id}')}`;
      const seen = requests.get(key) ?? { asked: 0, refused: 0 };
      requests.set(key, {
        asked: seen.asked + 1,
        refused: seen.refused + (denial?.request.action === action && denial.request.resource === resource ? 1 : 0),
      });
    }
    if (denial) denied++;
    return denial?.message;
  };
  const signatures = new SignatureVerifier({
    [HANDLER_CREDENTIALS.accessKeyId]: HANDLER_CREDENTIALS.secretAccessKey,
    [LOCAL_AWS.credentials.accessKeyId]: LOCAL_AWS.credentials.secretAccessKey,
  });
  const isHandler = (accessKeyId: string) => accessKeyId === HANDLER_CREDENTIALS.accessKeyId || accessKeyId.startsWith(SANDBOX_KEY_PREFIX);
  // The same configuration the construct gives the Lambda, pointing at the local services, with
  // the tunable settings given — checked, as the Lambda checks it at cold start, before anything starts.
  const configWith = (managementEndpoint: string) =>
    readConfig({
      ...handlerEnvironment({
        ...resourceSettings,
        managementEndpoint,
        fanoutConcurrency: options.fanoutConcurrency,
        requireToken: options.requireToken,
        // A receiver on this machine is http://; on AWS webhooks are https:// only.
        webhooksAllowHttp: true,
        // The runtime's timeout, as the construct tells the handler its function's.
        ...(options.lambda?.timeoutMs !== undefined && { functionTimeoutSeconds: Math.max(1, Math.ceil(options.lambda.timeoutMs / 1000)) }),
      }),
      [ENV.functionName]: LOCAL_FUNCTION_NAME,
      ...tunableSettings(options.settings ?? {}),
    });
  let config = configWith(resourceSettings.managementEndpoint);
  const failed: FailedInvocation[] = [];
  const failedFile = eventsFile && path.join(path.dirname(eventsFile), 'failed-invocations.jsonl');
  let sandboxes = 0;
  /** A new Lambda sandbox: the handler with session credentials of its own, revoked when it ends. */
  const sandbox = (): Sandbox => {
    const credentials = {
      accessKeyId: `${SANDBOX_KEY_PREFIX}${String(++sandboxes).padStart(4, '0')}`,
      secretAccessKey: randomBytes(20).toString('hex'),
    };
    signatures.grant(credentials.accessKeyId, credentials.secretAccessKey);
    const role = { region: LOCAL_REGION, credentials };
    const handler: Handler = handlerFor(
      buildDependencies(config, {
        dynamodb: { ...role, endpoint: aws.url },
        management: role,
        services: { ...role, endpoint: aws.url },
        // The local gateway shares one process (and core) with the handler: under a burst of
        // fan-outs its answers take longer than API Gateway's, and a retry after a timeout that
        // was only slow would deliver twice.
        deliveryAttemptTimeoutMs: 5000,
      }),
    );
    return { id: credentials.accessKeyId, handler, destroy: () => signatures.revoke(credentials.accessKeyId) };
  };
  const gateway = new LocalGateway({
    handler: { sandbox },
    lambda: {
      ...options.lambda,
      // The construct's asynchronous invocation config: two retries, the tasks' maximum age, a failure destination.
      retries: 2,
      maxEventAgeMs: config.taskMaxAgeSeconds * 1000,
      onFailure: (record) => {
        failed.push(record);
        if (failedFile) void appendFile(failedFile, `${JSON.stringify(record)}\n`).catch(() => undefined);
        options.onFailedInvocation?.(record);
      },
    },
    host: options.host,
    httpPort: options.httpPort,
    wsPort: options.wsPort,
    stage,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    onHandlerError: options.onHandlerError,
    throttle: options.throttle,
    // As AWS: a signature must be the one the caller's secret makes (a sandbox's, or the local tools'),
    // and an ended sandbox's credentials have expired.
    checkSignature: (request) => signatures.verify(request),
    authorizeManagement: policy && ((accessKeyId, request) => (isHandler(accessKeyId) ? check([request]) : undefined)),
  });
  const aws = new LocalAwsEndpoint({
    dynamoEndpoint: store.endpoint,
    region: LOCAL_REGION,
    account: LOCAL_ACCOUNT,
    secrets,
    functionName: LOCAL_FUNCTION_NAME,
    // As on AWS: the task runs in a separate invocation after the caller has returned.
    invokeAsync: (payload) => gateway.invokeAsync(payload),
    eventsFile,
    enforce: policy && { isHandler, check },
    isRevoked: (accessKeyId) => signatures.isRevoked(accessKeyId),
    dynamoFault: options.dynamoFault,
    host: options.host,
  });
  // CloudFront's domain, locally: its function, then the WebSocket API as the origin.
  const pusher = new LocalPusherEndpoint({
    stage,
    host: options.host,
    port: options.pusherPort,
    origin: () => {
      const { hostname, port } = new URL(gateway.webSocketUrl);
      return { host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) };
    },
    onError: options.onHandlerError,
  });
  try {
    await gateway.listen();
    await aws.listen();
    await pusher.listen();
  } catch (error) {
    await pusher.stop();
    await aws.stop();
    await gateway.stop();
    await store.stop();
    throw error;
  }
  config = configWith(gateway.managementEndpoint);
  return {
    webSocketUrl: gateway.webSocketUrl,
    httpUrl: gateway.httpUrl,
    pusherUrl: pusher.url,
    pusherPort: pusher.port,
    managementEndpoint: gateway.managementEndpoint,
    dynamoEndpoint: store.endpoint,
    awsEndpoint: aws.url,
    lifecycleEventsFile: eventsFile,
    gateway,
    policy,
    deniedCalls: () => denied,
    iamRequests: () => requests,
    sweepExpired: (now) => store.sweepExpired(now),
    failedInvocations: () => failed,
    failedInvocationsFile: failedFile,
    async stop() {
      // Viewers first: their connections through the endpoint end, and the gateway sees them go.
      await pusher.stop();
      await gateway.stop();
      await aws.stop();
      await store.stop();
    },
  };
}
