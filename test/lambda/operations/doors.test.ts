/**
 * The operations' doors with small typed fakes: a connection pays before anything (a frame that
 * did not parse too), a backend's key is checked and the input-free part of the rule decided
 * before the input is looked at, and the access rule runs before the work.
 */
import { Operations, OPERATIONS } from '../../../lambda/operations';
import { operation } from '../../../lambda/operations/operation';
import { ACCESS } from '../../../lambda/auth/access';
import { OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';
import type { TakeOutcome } from '../../../lambda/ports';
import { fail, ok } from '../../../lambda/protocol';
import { connection, fakeServices } from '../../helpers/fake-services';

function doors(take: TakeOutcome['status'], key?: 'master' | 'project', refusals = 1, userBudget = true) {
  const charged: number[] = [];
  const ran: string[] = [];
  const outcome = (): TakeOutcome =>
    take === 'allowed'
      ? { status: 'allowed', connection: connection({ rateLimit: { perSecond: 10, burst: 20 } }) }
      : take === 'limited'
        ? { status: 'limited', refusals }
        : { status: 'missing' };
  const ops = new Operations(
    fakeServices({
      connections: {
        take: async () => outcome(),
        charge: async (_id: string, tokens: number) => (charged.push(tokens), true),
      },
      authorizer: {
        identify: async (presented?: string) =>
          presented === 'good' ? (key === 'master' ? { kind: 'master' } : { kind: 'project', projectId: 'acme' }) : undefined,
      },
      settings: { of: async () => OPEN_PROJECT_SETTINGS },
      apiKeys: { signingKey: async () => undefined },
      logger: { warn: () => undefined },
      users: { take: async () => userBudget },
    }),
  );
  const probe = (before: number, after?: number) =>
    operation<{ channel: string }, string>({
      name: 'probe',
      callers: ['connection', 'backend'],
      access: ACCESS.readChannel(),
      cost: { before, ...(after !== undefined && { after: () => after }) },
      run: async ({ channel }) => {
        ran.push(channel);
        return ok(channel);
      },
    });
  return { ops, charged, ran, probe };
}

describe('a connection’s door', () => {
  it('answers not_connected for a connection the store does not know, running nothing', async () => {
    const { ops, ran, probe } = doors('missing');
    expect(await ops.asConnection('x=', probe(1), ok({ channel: 'news' }))).toEqual(fail('not_connected'));
    expect(ran).toEqual([]);
  });

  it('answers rate_limited when the bucket is empty, running nothing', async () => {
    const { ops, ran, probe } = doors('limited');
    expect(await ops.asConnection('x=', probe(1), ok({ channel: 'news' }))).toEqual(fail('rate_limited'));
    expect(ran).toEqual([]);
  });

  it('makes a frame that did not parse pay all the same, and answers its error', async () => {
    const { ops, ran, probe } = doors('allowed');
    expect(await ops.asConnection('x=', probe(1), fail('invalid_channel'))).toEqual(fail('invalid_channel'));
    expect(await ops.refuse('x=', { code: 'invalid_json', message: 'no' })).toEqual({ code: 'invalid_json', message: 'no' });
    expect(ran).toEqual([]);
  });

  it('gives a frame that is no call rate_limited once the bucket is empty', async () => {
    const { ops } = doors('limited');
    expect(await ops.refuse('x=', { code: 'invalid_json', message: 'no' })).toEqual({ code: 'rate_limited', message: expect.any(String) });
  });

  it('charges what a call costs beyond its first message, before and after it runs', async () => {
    const { ops, charged, probe } = doors('allowed');
    await ops.asConnection('x=', probe(5), ok({ channel: 'news' }));
    await ops.asConnection('x=', probe(1), ok({ channel: 'news' }));
    await ops.asConnection('x=', probe(1, 3), ok({ channel: 'news' }));
    expect(charged).toEqual([4, 3]);
  });

  it('owes nothing after a call that failed', async () => {
    const { ops, charged, probe } = doors('allowed');
    await ops.asConnection('x=', probe(1, 3), ok({ channel: 'private-x' }));
    expect(charged).toEqual([]);
  });

  it('tells a connection that keeps exceeding its limit that it is being closed', async () => {
    const flooding = doors('limited', undefined, 20);
    expect(await flooding.ops.asConnection('x=', flooding.probe(1), ok({ channel: 'news' }))).toMatchObject({
      ok: false,
      error: { code: 'rate_limited', closing: true },
    });
    const bursting = doors('limited', undefined, 19);
    expect(await bursting.ops.asConnection('x=', bursting.probe(1), ok({ channel: 'news' }))).toEqual(fail('rate_limited'));
  });

  it('refuses a frame once its user’s connections together have spent their shared budget', async () => {
    const { ops, ran, probe } = doors('allowed', undefined, 1, false);
    expect(await ops.asConnection('x=', probe(1), ok({ channel: 'news' }))).toMatchObject({
      ok: false,
      error: { code: 'rate_limited', message: expect.stringContaining('userRateLimit') },
    });
    expect(ran).toEqual([]);
  });

  it('applies the access rule before the work', async () => {
    const { ops, ran, probe } = doors('allowed');
    expect(await ops.asConnection('x=', probe(1), ok({ channel: 'private-x' }))).toMatchObject({
      ok: false,
      error: { code: 'subscription_forbidden' },
    });
    expect(ran).toEqual([]);
  });

  it('refuses an operation that is not for connections', async () => {
    const { ops } = doors('allowed');
    expect(await ops.asConnection('x=', OPERATIONS.listKeys, ok(undefined))).toEqual(fail('unknown_action'));
  });
});

describe('a backend’s door', () => {
  it('refuses a key that is none, and makes a caller of a valid one', async () => {
    const { ops } = doors('allowed', 'project');
    expect(await ops.bearer('bad')).toEqual(
      fail(
        'unauthorized',
        'Unknown key: the key in Authorization: Bearer <key> is neither the master key nor a current project key (rbk_…)',
      ),
    );
    expect(await ops.bearer('good')).toMatchObject({
      ok: true,
      value: { kind: 'backend', principal: { kind: 'project', projectId: 'acme' } },
    });
  });

  it('refuses a project key on a master operation before reading its input', async () => {
    const { ops } = doors('allowed', 'project');
    const caller = await ops.bearer('good');
    expect(caller.ok && (await ops.asBackend(caller.value, OPERATIONS.createKey, fail('invalid_project')))).toMatchObject({
      ok: false,
      error: { code: 'unauthorized', message: expect.stringMatching(/^This needs the master key/) },
    });
  });

  it('refuses an operation that is not for backends', async () => {
    const { ops } = doors('allowed', 'master');
    const caller = await ops.bearer('good');
    expect(caller.ok && (await ops.asBackend(caller.value, OPERATIONS.subscribe, ok({ channel: 'news' })))).toEqual(fail('unauthorized'));
  });

  it('gives a project key its own project and refuses another', async () => {
    const { ops, ran, probe } = doors('allowed', 'project');
    const caller = await ops.bearer('good');
    const other = operation<{ channel: string; projectId?: string }, string>({
      ...probe(1),
      access: ACCESS.readChannel((input) => input.projectId),
    });
    expect(caller.ok && (await ops.asBackend(caller.value, other, ok({ channel: 'news', projectId: 'other' })))).toEqual(
      fail('unauthorized', "This key is project acme's: a project key acts on its own project only"),
    );
    expect(caller.ok && (await ops.asBackend(caller.value, other, ok({ channel: 'news' })))).toEqual(ok('news'));
    expect(ran).toEqual(['news']);
  });
});
