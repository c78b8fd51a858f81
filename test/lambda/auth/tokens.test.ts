import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { matchesAny, matchesPattern, signClientToken, SigningKey, verifyClientToken, VerifyOptions } from '../../../lambda/auth/tokens';
import { isOpen, mayPublish, maySubscribe } from '../../../lambda/auth/access';
import { KEYED_PROJECT_SETTINGS, OPEN_PROJECT_SETTINGS } from '../../../lambda/contract/limits';

const NOW = 1_800_000_000;
const KEY: SigningKey = { projectId: 'acme', keyPrefix: 'rbk_AbCdEfGh', apiKey: 'rbk_AbCdEfGh-the-rest-of-a-project-key-xx' };
const options: VerifyOptions = {
  keyFor: async (kid) => (kid === KEY.keyPrefix ? KEY : undefined),
  maxTtlSeconds: async () => 24 * 3600,
  nowSeconds: NOW,
};
const sign = (claims: Parameters<typeof signClientToken>[0], ttl = 600, key = KEY) => signClientToken(claims, key, ttl, NOW);
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
/** A JWT made by hand, as any language's HMAC can: proof the format is plain HS256 with the raw key. */
function handMade(header: object, payload: object, secret = KEY.apiKey) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
const reason = async (token: string) => {
  const result = await verifyClientToken(token, options);
  return result.ok ? 'accepted' : result.error.message;
};

describe('client tokens', () => {
  it('grants what the claims say, to the key’s project', async () => {
    const token = await sign({
      sub: 'zoë',
      channels: ['private-user-zoë'.replace('ë', 'e')],
      publish: ['chat-*'],
      info: { name: 'Zoë' },
      monitor: true,
    });
    expect(await verifyClientToken(token, options)).toEqual({
      ok: true,
      value: {
        userId: 'zoë',
        projectId: 'acme',
        keyPrefix: KEY.keyPrefix,
        channels: ['private-user-zoe'],
        publish: ['chat-*'],
        info: { name: 'Zoë' },
        monitor: true,
        observe: false,
        expiresAt: NOW + 600,
      },
    });
  });

  it('accepts a token any HS256 library would make with the raw project key', async () => {
    const token = handMade({ alg: 'HS256', typ: 'JWT', kid: KEY.keyPrefix }, { sub: 'u', iat: NOW, exp: NOW + 60 });
    expect(await reason(token)).toBe('accepted');
  });

  it.each([
    ['expired', () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW - 120 }), 'Invalid token: expired'],
    ['no exp', () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u' }), /exp/],
    ['no sub', () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { exp: NOW + 60 }), /sub/],
    ['an unknown kid', () => handMade({ alg: 'HS256', kid: 'rbk_Unknown1' }, { sub: 'u', exp: NOW + 60 }), /no current key/],
    ['no kid', () => handMade({ alg: 'HS256' }, { sub: 'u', exp: NOW + 60 }), /kid must be/],
    [
      'the wrong key',
      () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 60 }, 'another key'),
      'Invalid token: bad signature',
    ],
    [
      'alg none',
      () => `${b64({ alg: 'none', kid: KEY.keyPrefix })}.${b64({ sub: 'u', exp: NOW + 60 })}.`,
      'Invalid token: alg must be HS256',
    ],
    ['alg HS512', () => handMade({ alg: 'HS512', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 60 }), 'Invalid token: alg must be HS256'],
    [
      'a lifetime over the project’s maximum',
      () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 25 * 3600 }),
      /the project's maximum/,
    ],
    [
      'info over 1 KB',
      () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 60, info: { bio: 'x'.repeat(1100) } }),
      /info is over 1024 bytes/,
    ],
    [
      'a pattern with bad characters',
      () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 60, channels: ['a b'] }),
      /channels/,
    ],
    [
      'monitor that is not a boolean',
      () => handMade({ alg: 'HS256', kid: KEY.keyPrefix }, { sub: 'u', exp: NOW + 60, monitor: 'yes' }),
      /monitor/,
    ],
    ['garbage', () => 'not.a.jwt', 'Invalid token: not a JWT'],
    ['a huge token', () => 'x'.repeat(5000), /longer than 4096/],
  ])('refuses %s', async (_, make, expected) => {
    expect(await reason(make())).toEqual(typeof expected === 'string' ? expected : expect.stringMatching(expected));
  });

  it('refuses tampered claims', async () => {
    const token = await sign({ sub: 'alice', channels: ['private-alice'] });
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64({ sub: 'alice', channels: ['private-*'], exp: NOW + 600, iat: NOW })}.${signature}`;
    expect(await reason(forged)).toBe('Invalid token: bad signature');
  });

  it('looks up no key for a token refused on its header', async () => {
    const keyFor = jest.fn(options.keyFor);
    await verifyClientToken(`${b64({ alg: 'none', kid: KEY.keyPrefix })}.${b64({ sub: 'u', exp: NOW + 60 })}.`, { ...options, keyFor });
    expect(keyFor).not.toHaveBeenCalled();
  });
});

describe('patterns', () => {
  it('match exact names and * runs, nothing else', () => {
    expect(matchesAny(['private-user-42'], 'private-user-42')).toBe(true);
    expect(matchesAny(['private-user-42'], 'private-user-420')).toBe(false);
    expect(matchesAny(['presence-room-*'], 'presence-room-a:b')).toBe(true);
    expect(matchesAny(['presence-room-*'], 'presence-roo')).toBe(false);
    expect(matchesAny(['*'], 'anything')).toBe(true);
    expect(matchesAny(['a.b'], 'axb')).toBe(false);
    expect(matchesAny([], 'x')).toBe(false);
  });

  it('agree with the regular expression they stand for, on every generated pattern and name', () => {
    const alphabet = fc.constantFrom('a', 'b', '-', ':', '*');
    const regexOf = (pattern: string) =>
      new RegExp(
        `^${pattern
          .split('*')
          .map((part) => part.replace(/[-:]/g, '\\$&'))
          .join('.*')}$`,
      );
    fc.assert(
      fc.property(
        fc.string({ unit: alphabet, maxLength: 12 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '-', ':'), maxLength: 16 }),
        (pattern, name) => {
          expect(matchesPattern(pattern, name)).toBe(regexOf(pattern).test(name));
        },
      ),
      { numRuns: 20_000 },
    );
  });

  it('take linear time on the worst patterns a tenant can sign (a regular expression backtracks for seconds)', () => {
    const worst = Array.from({ length: 32 }, (_, i) => `${'*a'.repeat(31 + (i % 2))}*b`.slice(0, 128));
    const name = 'a'.repeat(128);
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(matchesAny(worst, name)).toBe(false);
    expect(performance.now() - started).toBeLessThan(250);
  });
});

describe('access rules', () => {
  it('open public channels to all, restricted ones only where the token grants', () => {
    expect(maySubscribe({}, 'news').ok).toBe(true);
    expect(maySubscribe({}, 'private-x')).toMatchObject({ ok: false, error: { code: 'subscription_forbidden' } });
    expect(maySubscribe({}, 'presence-x')).toMatchObject({ ok: false, error: { code: 'subscription_forbidden' } });
    expect(maySubscribe({ channelGrants: ['private-*'] }, 'private-x').ok).toBe(true);
    expect(maySubscribe({ channelGrants: ['private-*'] }, 'presence-x').ok).toBe(false);
  });

  it('let clients publish by the project’s clientPublish and the token’s publish grants', () => {
    const granted = { publishGrants: ['chat-*'], channels: [] };
    expect(mayPublish({ channels: [] }, OPEN_PROJECT_SETTINGS, 'x').ok).toBe(true);
    expect(mayPublish(granted, { ...OPEN_PROJECT_SETTINGS, clientPublish: 'none' }, 'chat-1')).toMatchObject({
      ok: false,
      error: { code: 'publish_forbidden' },
    });
    expect(mayPublish(granted, KEYED_PROJECT_SETTINGS, 'chat-1').ok).toBe(true);
    expect(mayPublish(granted, KEYED_PROJECT_SETTINGS, 'news')).toMatchObject({ ok: false, error: { code: 'publish_forbidden' } });
    expect(mayPublish(granted, KEYED_PROJECT_SETTINGS).ok).toBe(false);
    expect(mayPublish({ publishGrants: ['*'], channels: [] }, KEYED_PROJECT_SETTINGS).ok).toBe(true);
  });

  it('let clients publish to a private or presence channel only with the right to join it, whatever clientPublish says', () => {
    const anyone = { channels: [] };
    expect(mayPublish(anyone, OPEN_PROJECT_SETTINGS, 'private-user-alice')).toMatchObject({
      ok: false,
      error: { code: 'publish_forbidden' },
    });
    expect(mayPublish({ publishGrants: ['*'], channels: [] }, KEYED_PROJECT_SETTINGS, 'presence-room')).toMatchObject({ ok: false });
    expect(mayPublish({ channelGrants: ['private-user-alice'], channels: [] }, OPEN_PROJECT_SETTINGS, 'private-user-alice').ok).toBe(true);
    // Joined with Pusher channel auth: the right to read it was shown then.
    expect(mayPublish({ channels: ['presence-room'] }, OPEN_PROJECT_SETTINGS, 'presence-room').ok).toBe(true);
  });

  it('call a project open only while anyone may connect and publish', () => {
    expect(isOpen(OPEN_PROJECT_SETTINGS)).toBe(true);
    expect(isOpen(KEYED_PROJECT_SETTINGS)).toBe(false);
    expect(isOpen({ ...OPEN_PROJECT_SETTINGS, clientPublish: 'granted' })).toBe(false);
  });
});
