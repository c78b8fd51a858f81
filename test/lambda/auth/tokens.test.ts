import { createHash, createHmac } from 'node:crypto';
import { ErrorCode } from '../../../lambda/protocol';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../../lambda/contract/limits';
import { signConnectToken, tokenSigningKey, verifyConnectToken } from '../../../lambda/auth/tokens';

const NOW = 1_800_000_000;
const KEY = 'rbk_project-key';
const signing = [tokenSigningKey(KEY)];

describe('connect tokens', () => {
  it('round-trips a user id, unicode included', () => {
    const token = signConnectToken({ userId: 'zoë@example.com', expiresAt: NOW + 60, apiKey: KEY });
    expect(verifyConnectToken(token, signing, NOW)).toEqual({ ok: true, value: 'zoë@example.com' });
  });

  it('matches the documented format, so any language can sign one', () => {
    const user = Buffer.from('user-42').toString('base64url');
    const payload = `v1.${user}.${NOW + 60}`;
    const hmacKey = createHash('sha256').update(KEY).digest('hex');
    const handMade = `${payload}.${createHmac('sha256', hmacKey).update(payload).digest('base64url')}`;
    expect(signConnectToken({ userId: 'user-42', expiresAt: NOW + 60, apiKey: KEY })).toBe(handMade);
  });

  it.each([
    ['expired', signConnectToken({ userId: 'u', expiresAt: NOW, apiKey: KEY }), 'expired'],
    ['signed with another key', signConnectToken({ userId: 'u', expiresAt: NOW + 60, apiKey: 'other' }), 'bad signature'],
    ['good for too long', signConnectToken({ userId: 'u', expiresAt: NOW + MAX_TOKEN_LIFETIME_SECONDS + 1, apiKey: KEY }), 'too far'],
    ['malformed', 'not-a-token', 'expected v1'],
    ['tampered', signConnectToken({ userId: 'u', expiresAt: NOW + 60, apiKey: KEY }).replace('v1.dQ', 'v1.dg'), 'bad signature'],
  ])('refuses a token %s', (_, token, why) => {
    const result = verifyConnectToken(token, signing, NOW);
    expect(result).toMatchObject({ ok: false, error: { code: ErrorCode.invalidToken, message: expect.stringContaining(why) } });
  });

  it('accepts any of several signing keys', () => {
    const token = signConnectToken({ userId: 'u', expiresAt: NOW + 60, apiKey: 'master' });
    expect(verifyConnectToken(token, [tokenSigningKey('project'), tokenSigningKey('master')], NOW).ok).toBe(true);
  });
});
