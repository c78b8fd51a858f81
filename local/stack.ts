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
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Handler } from '../lambda/edge/app';
import { handlerEnvironment, readConfig, tunableSettings } from '../lambda/contract/config';
import { buildDependencies, handlerFor } from '../lambda/compose';
import { StaticKeySource } from '../lambda/adapters/key-sources';
import { GatewayOptions, LocalGateway } from './gateway';
import { LOCAL_AWS, LOCAL_TABLE_SETTINGS, startLocalStore } from './store';

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

export interface LocalStackOptions {
  /** The HTTP API's access key. */
  readonly accessKey: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly httpPort?: number;
  /** @default 0 (any free port) */
  readonly wsPort?: number;
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
}

export interface LocalStack {
  readonly webSocketUrl: string;
  readonly httpUrl: string;
  readonly managementEndpoint: string;
  readonly dynamoEndpoint: string;
  readonly gateway: LocalGateway;
  /** Runs the store's TTL stand-in now. */
  sweepExpired(now?: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const store = await startLocalStore({ dataDir: options.dataDir, ttlSweepMs: options.ttlSweepMs });
  let handler: Handler | undefined;
  const gateway = new LocalGateway({
    handler: (event, context) => handler!(event, context),
    host: options.host,
    httpPort: options.httpPort,
    wsPort: options.wsPort,
    stage: options.stage,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    onHandlerError: options.onHandlerError,
    throttle: options.throttle,
  });
  try {
    await gateway.listen();
  } catch (error) {
    await store.stop();
    throw error;
  }
  // The same configuration the construct gives the Lambda, pointing at the local services, with
  // the tunable settings given (checked as the Lambda checks them at cold start).
  const config = readConfig({
    ...handlerEnvironment({
      ...LOCAL_TABLE_SETTINGS,
      managementEndpoint: gateway.managementEndpoint,
      fanoutConcurrency: options.fanoutConcurrency,
      requireToken: options.requireToken,
    }),
    ...tunableSettings(options.settings ?? {}),
  });
  handler = handlerFor(
    buildDependencies(config, {
      dynamodb: { ...LOCAL_AWS, endpoint: store.endpoint },
      management: LOCAL_AWS,
      // The local gateway shares one process (and core) with the handler: under a burst of
      // fan-outs its answers take longer than API Gateway's, and a retry after a timeout that
      // was only slow would deliver twice.
      deliveryAttemptTimeoutMs: 5000,
      keys: new StaticKeySource(options.accessKey),
      sealing: new StaticKeySource(options.sealingSecret ?? (await localSealingSecret(options.dataDir))),
      // As on AWS: the task runs in a separate invocation after $connect has returned.
      invoker: { invoke: async (task) => gateway.invokeAsync(task) },
    }),
  );
  return {
    webSocketUrl: gateway.webSocketUrl,
    httpUrl: gateway.httpUrl,
    managementEndpoint: gateway.managementEndpoint,
    dynamoEndpoint: store.endpoint,
    gateway,
    sweepExpired: (now) => store.sweepExpired(now),
    async stop() {
      await gateway.stop();
      await store.stop();
    },
  };
}
