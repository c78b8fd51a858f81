/**
 * What a webhook URL may be: absolute http(s) without credentials, each once; on AWS https only and
 * never this machine's or a private network's host.
 */
import { isInternalHost } from '../../../lambda/operations/projects';
import { settingsRequest, validate } from '../../../lambda/protocol';

const parsed = (webhooks: unknown) => validate(settingsRequest, { webhooks });

describe('webhook settings', () => {
  it('refuses credentials in a URL and a URL listed twice, and says why', () => {
    const withUser = parsed([{ url: 'https://me:pw@hooks.example/x', events: ['cache_miss'] }]);
    expect(withUser.ok).toBe(false);
    expect(!withUser.ok && withUser.error.message).toMatch(/may not hold a user or password/);
    const twice = parsed([
      { url: 'https://hooks.example/x', events: ['cache_miss'] },
      { url: 'https://hooks.example/x', events: ['channel_occupied'] },
    ]);
    expect(!twice.ok && twice.error.message).toMatch(/each webhook url appears once/);
    expect(parsed([{ url: 'https://hooks.example/x?token=abc', events: ['cache_miss'] }]).ok).toBe(true);
  });

  it.each([
    ['localhost', true],
    ['api.localhost', true],
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['[::1]', true],
    ['[fd00::1]', true],
    ['[fe80::1]', true],
    ['[::ffff:127.0.0.1]', true],
    ['hooks.example.com', false],
    ['8.8.8.8', false],
    ['172.32.0.1', false],
    ['[2001:db8::1]', false],
  ])('%s is internal: %s', (host, internal) => {
    expect(isInternalHost(host)).toBe(internal);
  });
});
