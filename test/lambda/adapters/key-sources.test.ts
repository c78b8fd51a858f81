/** The master key and sealing secret from Secrets Manager: signed GetSecretValue calls to a stand-in that checks signatures as AWS does. */
import { AwsHttp } from '../../../lambda/adapters/aws-http';
import { SecretsManagerKeySource, secretsManagerHttp } from '../../../lambda/adapters/key-sources';
import { AwsJsonStandIn, ReceivedRequest, StandInReply, TEST_AWS } from '../../helpers/aws-json-stand-in';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:broadcast-key-AbCdEf';
const HOUR = 3600_000;

let versions: Record<string, StandInReply>;
const stage = (request: ReceivedRequest) => (JSON.parse(request.body) as { VersionStage: string }).VersionStage;
const standIn = new AwsJsonStandIn('secretsmanager', (request) => versions[stage(request)] ?? { status: 500 });
let http: AwsHttp;

beforeAll(async () => {
  http = secretsManagerHttp(TEST_AWS.region, TEST_AWS.credentials, await standIn.listen());
});
afterAll(async () => {
  http.destroy();
  await standIn.close();
});
beforeEach(() => {
  standIn.received.length = 0;
  versions = { AWSCURRENT: { status: 200, body: { ARN, Name: 'broadcast-key', SecretString: 'key-one', CreatedDate: 1.7e9 } } };
});

describe('SecretsManagerKeySource', () => {
  it('asks for the current version with a GetSecretValue AWS accepts, once, and serves it from the cache', async () => {
    const source = new SecretsManagerKeySource(ARN, http, 300);
    expect(await source.get()).toBe('key-one');
    expect(await source.get()).toBe('key-one');
    expect(standIn.rejected).toBe(0);
    expect(standIn.received).toHaveLength(1);
    const [request] = standIn.received;
    expect(request.headers).toMatchObject({
      'x-amz-target': 'secretsmanager.GetSecretValue',
      'content-type': 'application/x-amz-json-1.1',
    });
    expect(JSON.parse(request.body)).toEqual({ SecretId: ARN, VersionStage: 'AWSCURRENT' });
  });

  it('asks again when the cache has expired, or when forced', async () => {
    let now = 0;
    const source = new SecretsManagerKeySource(ARN, http, 300, { now: () => now });
    await source.get();
    versions.AWSCURRENT = { status: 200, body: { SecretString: 'key-two', CreatedDate: 1.7e9 } };
    expect(await source.get()).toBe('key-one');
    expect(await source.get({ forceRefresh: true })).toBe('key-two');
    versions.AWSCURRENT = { status: 200, body: { SecretString: 'key-three', CreatedDate: 1.7e9 } };
    now += 301_000;
    expect(await source.get()).toBe('key-three');
  });

  it('fails without revealing the value when the secret is empty', async () => {
    versions.AWSCURRENT = { status: 200, body: { SecretString: '   ' } };
    await expect(new SecretsManagerKeySource(ARN, http, 300).get()).rejects.toThrow('The access key secret is empty or not a string');
  });

  it('names the error AWS gave, without retrying a refusal', async () => {
    versions.AWSCURRENT = {
      status: 400,
      body: { __type: 'AccessDeniedException', message: 'not allowed' },
      errorType: 'AccessDeniedException',
    };
    await expect(new SecretsManagerKeySource(ARN, http, 300).get()).rejects.toMatchObject({
      name: 'AwsError',
      errorType: 'AccessDeniedException',
      status: 400,
    });
    expect(standIn.received).toHaveLength(1);
  });

  it('retries throttling (Secrets Manager answers it with 400 ThrottlingException)', async () => {
    let calls = 0;
    const throttledOnce = new AwsJsonStandIn('secretsmanager', () =>
      ++calls === 1 ? { status: 400, body: { __type: 'ThrottlingException' } } : { status: 200, body: { SecretString: 'k' } },
    );
    const throttledHttp = secretsManagerHttp(TEST_AWS.region, TEST_AWS.credentials, await throttledOnce.listen());
    try {
      expect(await new SecretsManagerKeySource(ARN, throttledHttp, 300).get()).toBe('k');
      expect(calls).toBe(2);
    } finally {
      throttledHttp.destroy();
      await throttledOnce.close();
    }
  });

  describe('the previous version, after a rotation', () => {
    const rotatedAt = Date.parse('2026-11-21T12:00:00Z');
    beforeEach(() => {
      versions = {
        AWSCURRENT: { status: 200, body: { SecretString: 'new-key', CreatedDate: rotatedAt / 1000 } },
        AWSPREVIOUS: { status: 200, body: { SecretString: 'old-key', CreatedDate: rotatedAt / 1000 - 86400 } },
      };
    });

    it('is offered while the current version is younger than the grace window', async () => {
      const source = new SecretsManagerKeySource(ARN, http, 300, { graceSeconds: 24 * 3600, now: () => rotatedAt + 23 * HOUR });
      expect(await source.previous()).toBe('old-key');
    });

    it('is not offered once the window has passed, nor with no window', async () => {
      const late = new SecretsManagerKeySource(ARN, http, 300, { graceSeconds: 24 * 3600, now: () => rotatedAt + 25 * HOUR });
      expect(await late.previous()).toBeUndefined();
      const off = new SecretsManagerKeySource(ARN, http, 300, { graceSeconds: 0, now: () => rotatedAt + HOUR });
      expect(await off.previous()).toBeUndefined();
      expect(standIn.received.map(stage)).not.toContain('AWSPREVIOUS');
    });

    it('is cached, but never past the end of the window', async () => {
      let now = rotatedAt + 24 * HOUR - 60_000;
      const source = new SecretsManagerKeySource(ARN, http, 300, { graceSeconds: 24 * 3600, now: () => now });
      expect(await source.previous()).toBe('old-key');
      expect(await source.previous()).toBe('old-key');
      expect(standIn.received).toHaveLength(2);
      now += 61_000;
      expect(await source.previous()).toBeUndefined();
    });

    it('is none for a secret never rotated', async () => {
      versions.AWSPREVIOUS = {
        status: 400,
        body: {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret value for staging label: AWSPREVIOUS",
        },
        errorType: 'ResourceNotFoundException',
      };
      const source = new SecretsManagerKeySource(ARN, http, 300, { graceSeconds: 3600, now: () => rotatedAt + 1000 });
      expect(await source.previous()).toBeUndefined();
    });
  });
});
