import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerKeySource } from '../../../lambda/adapters/key-sources';

const secrets = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:broadcast-key-AbCdEf';

beforeEach(() => secrets.reset());

describe('SecretsManagerKeySource', () => {
  it('reads the secret once and serves it from the cache', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'key-one' });
    const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300);
    expect(await source.get()).toBe('key-one');
    expect(await source.get()).toBe('key-one');
    expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });
  });

  it('bypasses the cache when forced', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'key-one' }).resolves({ SecretString: 'key-two' });
    const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300);
    await source.get();
    expect(await source.get({ forceRefresh: true })).toBe('key-two');
  });

  it('fails without revealing the value when the secret is empty', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '' });
    const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300);
    await expect(source.get()).rejects.toThrow('The access key secret is empty or not a string');
  });

  describe('the previous version, after a rotation', () => {
    const HOUR = 3600_000;
    const rotatedAt = Date.parse('2026-11-21T12:00:00Z');
    beforeEach(() => {
      secrets.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSCURRENT' }).resolves({ SecretString: 'new-key', CreatedDate: new Date(rotatedAt) });
      secrets.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).resolves({ SecretString: 'old-key' });
    });

    it('is offered while the current version is younger than the grace window', async () => {
      const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300, { graceSeconds: 24 * 3600, now: () => rotatedAt + 23 * HOUR });
      expect(await source.previous()).toBe('old-key');
    });

    it('is not offered once the window has passed, nor with no window', async () => {
      const late = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300, { graceSeconds: 24 * 3600, now: () => rotatedAt + 25 * HOUR });
      expect(await late.previous()).toBeUndefined();
      const off = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300, { graceSeconds: 0, now: () => rotatedAt + HOUR });
      expect(await off.previous()).toBeUndefined();
      expect(secrets).not.toHaveReceivedCommandWith(GetSecretValueCommand, { VersionStage: 'AWSPREVIOUS' });
    });

    it('is cached, but never past the end of the window', async () => {
      let now = rotatedAt + 24 * HOUR - 60_000;
      const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300, { graceSeconds: 24 * 3600, now: () => now });
      expect(await source.previous()).toBe('old-key');
      expect(await source.previous()).toBe('old-key');
      expect(secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
      now += 61_000;
      expect(await source.previous()).toBeUndefined();
    });

    it('is none for a secret never rotated', async () => {
      secrets.on(GetSecretValueCommand, { SecretId: ARN, VersionStage: 'AWSPREVIOUS' }).rejects(
        new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS", $metadata: {} }),
      );
      const source = new SecretsManagerKeySource(ARN, new SecretsManagerClient({}), 300, { graceSeconds: 3600, now: () => rotatedAt + 1000 });
      expect(await source.previous()).toBeUndefined();
    });
  });
});
