/** A conditional write that DynamoDB refused because its condition did not hold. */
export const isConditionFailure = (error: unknown): boolean => (error as Error)?.name === 'ConditionalCheckFailedException';

/**
 * Writes an item that may or may not exist: `update` (conditional on it existing, or on its state)
 * and `create` (conditional on the opposite) exclude each other, so when a racing writer makes one
 * fail, the other is tried, until one holds. Other errors are thrown.
 */
export async function updateOrCreate<T>(update: () => Promise<T>, create: () => Promise<T>): Promise<T> {
  for (;;) {
    for (const attempt of [update, create]) {
      try {
        return await attempt();
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }
}
