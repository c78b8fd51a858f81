import { DynamoDBClient, DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { markTemporary } from '../contract/retry';

/** A conditional write that DynamoDB refused because its condition did not hold. */
export const isConditionFailure = (error: unknown): boolean => (error as Error)?.name === 'ConditionalCheckFailedException';

/** Racing writers alternate `update` and `create` at most this many rounds; more is not a race but a bug. */
const MAX_UPDATE_OR_CREATE_ROUNDS = 16;

/**
 * Writes an item that may or may not exist: `update` (conditional on it existing, or on its state)
 * and `create` (conditional on the opposite) exclude each other, so when a racing writer makes one
 * fail, the other is tried, until one holds — for a bounded number of rounds, after which the
 * write is reported as contended (temporary). Other errors are thrown.
 */
export async function updateOrCreate<T>(update: () => Promise<T>, create: () => Promise<T>): Promise<T> {
  for (let round = 0; round < MAX_UPDATE_OR_CREATE_ROUNDS; round++) {
    for (const attempt of [update, create]) {
      try {
        return await attempt();
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }
  throw markTemporary(new Error(`An item stayed contended for ${MAX_UPDATE_OR_CREATE_ROUNDS} rounds of update-or-create`));
}

/**
 * DynamoDB's errors as the SDK's own retry strategy classifies them (throttling, transient, 5xx):
 * marked temporary where they are met, so whoever handles them reads a flag instead of guessing
 * from names. Runs outside every other middleware, after the SDK's own retries have given up.
 */
function markTemporaryErrors(client: DynamoDBDocumentClient): DynamoDBDocumentClient {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const e = error as Parameters<typeof isTransientError>[0];
        if (isThrottlingError(e) || isTransientError(e) || isServerError(e)) markTemporary(error);
        throw error;
      }
    },
    { step: 'initialize', priority: 'high', name: 'markTemporaryErrors', override: true },
  );
  return client;
}

/** The document client every store uses: undefined attributes left out, errors classified. */
export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return markTemporaryErrors(DynamoDBDocumentClient.from(new DynamoDBClient(config), { marshallOptions: { removeUndefinedValues: true } }));
}
