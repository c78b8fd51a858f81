import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
});
