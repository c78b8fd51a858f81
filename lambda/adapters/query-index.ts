import { DynamoDBDocumentClient, paginateQuery, type NativeAttributeValue } from '@aws-sdk/lib-dynamodb';
import type { IndexDefinition } from '../contract/tables';

/**
 * Every item of one partition of a secondary index, across pages: Query, never Scan. `Item` is the
 * shape of what the index holds, as its store declares it; unnamed, the items stay as the document
 * client returns them.
 */
export async function queryIndex<Item extends object = Record<string, NativeAttributeValue>>(
  client: DynamoDBDocumentClient,
  tableName: string,
  index: IndexDefinition,
  partitionValue: string,
): Promise<Item[]> {
  const items: Record<string, NativeAttributeValue>[] = [];
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
  return items as Item[];
}
