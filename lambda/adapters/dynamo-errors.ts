/** A conditional write that DynamoDB refused because its condition did not hold. */
export const isConditionFailure = (error: unknown): boolean => (error as Error)?.name === 'ConditionalCheckFailedException';
