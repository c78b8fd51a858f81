/**
 * Builds the handler's dependencies from its configuration: real AWS SDK clients, created once
 * per execution environment and reused by every invocation.
 */
import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoApiKeyStore } from './adapters/dynamo-api-keys';
import { DynamoConnectionStore } from './adapters/dynamo-connections';
import { DynamoUsageStore } from './adapters/dynamo-usage';
import { DynamoSubscriptionStore } from './adapters/dynamo-subscriptions';
import { ManagementApiDelivery, managementClientFor } from './adapters/management-api-delivery';
import { SecretsManagerKeySource } from './adapters/key-sources';
import type { AppDependencies } from './app';
import type { Config } from './config';
import type { KeySource } from './ports';

export interface ClientOverrides {
  /** Extra DynamoDB client settings: the local stack points it at dynalite. */
  readonly dynamodb?: DynamoDBClientConfig;
  readonly management?: Partial<ApiGatewayManagementApiClientConfig>;
  /** Where the access key comes from instead of Secrets Manager (the local stack). */
  readonly keys?: KeySource;
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
