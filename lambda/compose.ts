/**
 * Builds the handler's dependencies from its configuration: real AWS SDK clients, created once
 * per execution environment and reused by every invocation.
 */
import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoApiKeyStore } from './adapters/dynamo-api-keys';
import { DynamoConnectionStore } from './adapters/dynamo-connections';
import { DynamoRetainedStore } from './adapters/dynamo-retained';
import { DynamoUsageStore } from './adapters/dynamo-usage';
import { LambdaSelfInvoker } from './adapters/lambda-invoker';
import { DynamoSubscriptionStore } from './adapters/dynamo-subscriptions';
import { ManagementApiDelivery, managementClientFor } from './adapters/management-api-delivery';
import { SecretsManagerKeySource } from './adapters/key-sources';
import type { AppDependencies } from './edge/app';
import type { Config } from './contract/config';
import type { AsyncInvoker, KeySource } from './ports';

export interface ClientOverrides {
  /** Extra DynamoDB client settings: the local stack points it at dynalite. */
  readonly dynamodb?: DynamoDBClientConfig;
  readonly management?: Partial<ApiGatewayManagementApiClientConfig>;
  /** Where the access key comes from instead of Secrets Manager (the local stack). */
  readonly keys?: KeySource;
  /** How background tasks run instead of a Lambda self-invocation (the local stack). */
  readonly invoker?: AsyncInvoker;
}

export function buildDependencies(config: Config, overrides: ClientOverrides = {}): AppDependencies {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient(overrides.dynamodb ?? {}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return {
    connections: new DynamoConnectionStore(documents, config.connectionsTable),
    subscriptions: new DynamoSubscriptionStore(documents, config.subscriptionsTable),
    apiKeys: new DynamoApiKeyStore(documents, config.apiKeysTable),
    usage: new DynamoUsageStore(documents, config.usageTable),
    retained: new DynamoRetainedStore(documents, config.retainedTable),
    invoker: overrides.invoker ?? selfInvoker(config),
    requireApiKey: config.requireApiKey,
    delivery: new ManagementApiDelivery(managementClientFor(config.managementEndpoint, overrides.management)),
    keys: overrides.keys ?? secretKeySource(config),
    fanoutConcurrency: config.fanoutConcurrency,
  };
}

function secretKeySource(config: Config): KeySource {
  if (!config.accessKeySecretArn) throw new Error('ACCESS_KEY_SECRET_ARN is not set');
  return new SecretsManagerKeySource(config.accessKeySecretArn, new SecretsManagerClient({}), config.accessKeyCacheSeconds);
}

function selfInvoker(config: Config): AsyncInvoker {
  if (!config.functionName) throw new Error('AWS_LAMBDA_FUNCTION_NAME is not set');
  return new LambdaSelfInvoker(new LambdaClient({}), config.functionName);
}
