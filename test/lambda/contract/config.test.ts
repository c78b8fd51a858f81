import { ENV, handlerEnvironment, readConfig } from '../../../lambda/contract/config';

const settings = {
  connectionsTable: 'c',
  subscriptionsTable: 's',
  apiKeysTable: 'k',
  usageTable: 'u',
  retainedTable: 'r',
  projectsTable: 'pr',
  managementEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/production',
  accessKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf',
  fanoutConcurrency: 250,
  requireApiKey: true,
};

describe('configuration', () => {
  it('reads back exactly what handlerEnvironment wrote', () => {
    expect(readConfig(handlerEnvironment(settings))).toEqual({ ...settings, accessKeyCacheSeconds: 300, functionName: undefined });
  });

  it('defaults concurrency and requireApiKey', () => {
    const config = readConfig(handlerEnvironment({ ...settings, fanoutConcurrency: undefined, requireApiKey: undefined }));
    expect(config).toMatchObject({ fanoutConcurrency: 100, requireApiKey: false });
  });

  it.each([
    [ENV.connectionsTable, '', /Missing environment variable CONNECTIONS_TABLE/],
    [ENV.fanoutConcurrency, '0', /FANOUT_CONCURRENCY must be a positive integer/],
    [ENV.requireApiKey, 'yes', /REQUIRE_API_KEY must be true or false/],
  ])('fails at cold start when %s is %j', (name, value, message) => {
    expect(() => readConfig({ ...handlerEnvironment(settings), [name]: value })).toThrow(message);
  });
});
