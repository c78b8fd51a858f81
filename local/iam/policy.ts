/**
 * IAM's identity-based policy evaluation, the part the local stack needs: Allow and Deny
 * statements with `Action`/`NotAction` and `Resource`/`NotResource`, IAM's wildcards (`*` any run
 * of characters, `?` one), actions case-insensitive and resources case-sensitive, an explicit Deny
 * winning over any Allow, and nothing allowed that no statement allows. Conditions, resource
 * policies, permission boundaries and SCPs are not evaluated (docs/local.md, "What still differs from AWS", says so).
 */

/** One statement, its references already resolved to local ARNs. */
export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions?: readonly string[];
  readonly notActions?: readonly string[];
  readonly resources?: readonly string[];
  readonly notResources?: readonly string[];
}

/** A request to authorize: one action on one resource ARN. */
export interface Authorization {
  readonly action: string;
  readonly resource: string;
}

export type Decision = 'allowed' | 'implicitDeny' | 'explicitDeny';

const patterns = new Map<string, RegExp>();

/** IAM's wildcard match: `*` any characters (`/` and `:` included), `?` exactly one. */
export function wildcardMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const key = `${caseInsensitive ? 'i' : 's'}${pattern}`;
  let regex = patterns.get(key);
  if (!regex) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    regex = new RegExp(`^${body}$`, caseInsensitive ? 'is' : 's');
    patterns.set(key, regex);
  }
  return regex.test(value);
}

function applies(statement: Statement, { action, resource }: Authorization): boolean {
  const actionMatches = statement.actions
    ? statement.actions.some((pattern) => wildcardMatch(pattern, action, true))
    : !(statement.notActions ?? []).some((pattern) => wildcardMatch(pattern, action, true));
  if (!actionMatches) return false;
  return statement.resources
    ? statement.resources.some((pattern) => wildcardMatch(pattern, resource))
    : !(statement.notResources ?? []).some((pattern) => wildcardMatch(pattern, resource));
}

/** What IAM decides for one request under these statements. */
export function decide(statements: readonly Statement[], request: Authorization): Decision {
  let allowed = false;
  for (const statement of statements) {
    if (!applies(statement, request)) continue;
    if (statement.effect === 'Deny') return 'explicitDeny';
    allowed = true;
  }
  return allowed ? 'allowed' : 'implicitDeny';
}

/** A role's policy and who it is, as AWS names it in its refusals. */
export class RolePolicy {
  constructor(
    readonly statements: readonly Statement[],
    /** `arn:aws:sts::{account}:assumed-role/{role}/{session}`: the caller AWS names in a refusal. */
    readonly principalArn: string,
  ) {}

  /** The first request of `requests` this policy refuses, with AWS's sentence for it; none if all are allowed. */
  check(requests: readonly Authorization[]): { request: Authorization; message: string } | undefined {
    for (const request of requests) {
      const decision = decide(this.statements, request);
      if (decision === 'allowed') continue;
      const why =
        decision === 'explicitDeny'
          ? `with an explicit deny in an identity-based policy`
          : `because no identity-based policy allows the ${request.action} action`;
      return {
        request,
        message: `User: ${this.principalArn} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
      };
    }
    return undefined;
  }
}
