import { AccessKeyVerifier, bearerToken, hashKey, secretsEqual } from '../../../lambda/auth/secrets';
import type { KeySource } from '../../../lambda/ports';

/** A key source whose key can change, counting forced refreshes. */
class RotatingKeys implements KeySource {
  cached: string;
  refreshes = 0;
  constructor(public current: string) {
    this.cached = current;
  }
  async get(options: { forceRefresh?: boolean } = {}) {
    if (options.forceRefresh) {
      this.refreshes++;
      this.cached = this.current;
    }
    return this.cached;
  }
}

describe('secretsEqual', () => {
  it('is true only for identical strings, whatever the lengths', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('abc', 'abcd')).toBe(false);
    expect(secretsEqual('', 'a')).toBe(false);
  });
});

describe('hashKey', () => {
  it('is SHA-256 in hex, what project keys are stored as and tokens are signed with', () => {
    expect(hashKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc123', 'abc123'],
    ['bearer abc123', 'abc123'],
    ['Bearer   abc123  ', 'abc123'],
    ['Basic abc123', undefined],
    ['Bearer', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('reads %j as %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });
});

describe('AccessKeyVerifier', () => {
  it('accepts the current key and rejects others and absent ones', async () => {
    const verifier = new AccessKeyVerifier(new RotatingKeys('right'));
    expect(await verifier.verify('right')).toBe(true);
    expect(await verifier.verify('wrong')).toBe(false);
    expect(await verifier.verify(undefined)).toBe(false);
  });

  it('accepts a rotated key by refetching once on a mismatch', async () => {
    const keys = new RotatingKeys('old');
    const verifier = new AccessKeyVerifier(keys);
    keys.current = 'new';
    expect(await verifier.verify('new')).toBe(true);
    expect(keys.refreshes).toBe(1);
  });

  it('refetches at most once per interval however many bad keys arrive', async () => {
    let now = 1_000_000;
    const keys = new RotatingKeys('right');
    const verifier = new AccessKeyVerifier(keys, { refetchIntervalMs: 30_000, now: () => now });
    for (let i = 0; i < 10; i++) expect(await verifier.verify(`wrong-${i}`)).toBe(false);
    expect(keys.refreshes).toBe(1);
    now += 30_000;
    await verifier.verify('wrong-again');
    expect(keys.refreshes).toBe(2);
  });
});
