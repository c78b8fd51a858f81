/**
 * What IAM checks for one DynamoDB request (AWS's Service Authorization Reference): the action
 * named by the operation on the table's ARN, the index's ARN for a Query or Scan of an index,
 * the batch action on every table of a batch, and each item's own action on its table for a
 * transaction (`Put` → `PutItem`, `ConditionCheck` → `ConditionCheckItem`, …).
 */
import { fieldText } from '../gateway/io';
import type { Authorization } from '../iam/policy';

const TRANSACT_ACTIONS: Record<string, string> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

/** What a request names tables with, as the client sent it: unchecked, each field may be anything. */
interface TableRequest {
  readonly TableName?: unknown;
  readonly IndexName?: unknown;
  readonly RequestItems?: object | null;
  readonly TransactItems?: unknown;
}

/** One item of a transaction: its kind (`Put`, …) and what it acts on. */
type TransactItem = Record<string, { readonly TableName?: unknown } | null> | null;

/** Operations on no table in particular. */
const ACCOUNT_OPERATIONS = new Set([
  'ListTables',
  'DescribeLimits',
  'DescribeEndpoints',
  'ListBackups',
  'ListGlobalTables',
  'ListExports',
  'ListImports',
]);

/**
 * The authorizations a request needs. `operation` is the `X-Amz-Target` operation (`Query`);
 * `body` the parsed request. An unreadable body needs only the operation on `*`: DynamoDB then
 * answers the validation error itself.
 */
export function dynamoAuthorizations(operation: string, body: unknown, region: string, account: string): Authorization[] {
  const table = (name: unknown) => `arn:aws:dynamodb:${region}:${account}:table/${String(name)}`;
  const action = `dynamodb:${operation}`;
  const request = (typeof body === 'object' && body !== null ? body : {}) as TableRequest;
  if (ACCOUNT_OPERATIONS.has(operation)) return [{ action, resource: '*' }];
  switch (operation) {
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(request.RequestItems ?? {}).map((name) => ({ action, resource: table(name) }));
    case 'TransactWriteItems':
    case 'TransactGetItems':
      return (Array.isArray(request.TransactItems) ? (request.TransactItems as TransactItem[]) : []).flatMap((item) =>
        Object.entries(item ?? {}).flatMap(([kind, detail]) =>
          TRANSACT_ACTIONS[kind] ? [{ action: TRANSACT_ACTIONS[kind], resource: table(detail?.TableName) }] : [],
        ),
      );
    case 'Query':
    case 'Scan':
      return [
        {
          action,
          resource:
            request.IndexName !== undefined
              ? `${table(request.TableName)}/index/${fieldText(request.IndexName)}`
              : table(request.TableName),
        },
      ];
    default:
      return [{ action, resource: request.TableName !== undefined ? table(request.TableName) : '*' }];
  }
}
