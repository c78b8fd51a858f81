import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { IndexDefinition } from '../contract/tables';

/** Every item of one partition of a secondary index, across pages: Query, never Scan. */
export async function queryIndex(
  client: DynamoDBDocumentClient,
  tableName: string,
  index: IndexDefinition,
  partitionValue: string,
): Promise<Record<string, any>[]> {
  const items: Record<string, any>[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      IndexName: index.indexName,
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeNames: { '#pk': index.partitionKey.name },
      ExpressionAttributeValues: { ':pk': partitionValue },
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}
