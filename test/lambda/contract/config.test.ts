import { ENV, handlerEnvironment, readConfig, tunableSettings } from '../../../lambda/contract/config';

const settings = {
  connectionsTable: 'c',
  subscriptionsTable: 's',
  apiKeysTable: 'k',
  usageTable: 'u',
  retainedTable: 'r',
  projectsTable: 'pr',
  publishesTable: 'pu',
  channelsTable: 'ch',
  namespaces: { chat: { history: { size: 100, ttlSeconds: 86400 }, presence: true }, _: { presence: false } },
  eventBusName: 'default',
  presenceTimeoutSeconds: 120,
  deliveryRatePerSecond: 5000,
  backgroundFanoutAbove: 500,
  managementEndpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/production',
  accessKeySecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:key-AbCdEf',
  sealingSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:sealing-AbCdEf',
  masterKeyGraceSeconds: 3600,
  fanoutConcurrency: 250,
  requireToken: true,
  taskMaxAgeSeconds: 600,
};

describe('configuration', () => {
  it('reads back exactly what handlerEnvironment wrote', () => {
    expect(readConfig(handlerEnvironment(settings))).toEqual({
      ...settings,
      accessKeyCacheSeconds: 300,
      functionTimeoutSeconds: 29,
      functionName: undefined,
    });
  });

  it('defaults concurrency, requireToken and the master key grace', () => {
    const config = readConfig(
      handlerEnvironment({ ...settings, fanoutConcurrency: undefined, requireToken: undefined, masterKeyGraceSeconds: undefined }),
    );
    expect(config).toMatchObject({ fanoutConcurrency: 100, requireToken: false, masterKeyGraceSeconds: 86400 });
  });

  it('still reads REQUIRE_API_KEY, the former name of REQUIRE_TOKEN', () => {
    const env = { ...handlerEnvironment({ ...settings, requireToken: false }), [ENV.requireApiKey]: 'true' };
    expect(readConfig(env).requireToken).toBe(true);
  });

  it.each([
    [ENV.connectionsTable, '', /Missing environment variable CONNECTIONS_TABLE/],
    [ENV.fanoutConcurrency, '0', /FANOUT_CONCURRENCY must be a positive integer/],
    [ENV.requireToken, 'yes', /REQUIRE_TOKEN must be true or false/],
    [ENV.requireApiKey, 'yes', /REQUIRE_API_KEY must be true or false/],
    [ENV.masterKeyGraceSeconds, '-1', /MASTER_KEY_GRACE_SECONDS must be a non-negative integer/],
    [ENV.namespaces, '{chat', /NAMESPACES must be JSON/],
    [
      ENV.namespaces,
      '{"chat":{"history":{"size":1001,"ttlSeconds":60}}}',
      /NAMESPACES: namespace chat: history.size must be an integer from 1 to 1000/,
    ],
    [ENV.namespaces, '{"a b":{}}', /NAMESPACES: namespace "a b": a name is _ or up to 64/],
    // npm start's own input has no 4 KB limit, but the same cap as the construct.
    [
      ENV.namespaces,
      JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`n${i}`, {}]))),
      /NAMESPACES: at most 100 namespaces/,
    ],
  ])('fails at cold start when %s is %j', (name, value, message) => {
    expect(() => readConfig({ ...handlerEnvironment(settings), [name]: value })).toThrow(message);
  });

  describe('namespace defaults from a file beside the bundle (NAMESPACES_FILE, as the construct deploys them)', () => {
    const fromFile = { ...settings, namespaces: undefined, namespacesFile: 'namespaces.json' };
    const files = (contents: Record<string, string>) => (name: string) => {
      if (!(name in contents)) throw new Error(`ENOENT: no such file, open '${name}'`);
      return contents[name];
    };

    it('reads them from the file the variable names', () => {
      const config = readConfig(handlerEnvironment(fromFile), files({ 'namespaces.json': JSON.stringify(settings.namespaces) }));
      expect(config.namespaces).toEqual(settings.namespaces);
      expect(handlerEnvironment(fromFile)[ENV.namespaces]).toBeUndefined();
    });

    it.each<[string, Record<string, string | undefined>, ((name: string) => string) | undefined, RegExp]>([
      [
        'the file is missing',
        {},
        files({}),
        /NAMESPACES_FILE: cannot read namespaces\.json beside the handler \(ENOENT.*\); the construct writes it at synth/,
      ],
      ['the file is not JSON', {}, files({ 'namespaces.json': '{chat' }), /NAMESPACES_FILE \(namespaces\.json\) must be JSON/],
      [
        'the file has too many namespaces',
        {},
        files({ 'namespaces.json': JSON.stringify(Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`n${i}`, {}]))) }),
        /NAMESPACES_FILE \(namespaces\.json\): at most 100 namespaces/,
      ],
      [
        'NAMESPACES is set too',
        { [ENV.namespaces]: '{}' },
        files({ 'namespaces.json': '{}' }),
        /Set NAMESPACES or NAMESPACES_FILE, not both/,
      ],
      [
        'the name leaves the bundle’s folder',
        { [ENV.namespacesFile]: '../etc/passwd' },
        files({}),
        /NAMESPACES_FILE must name a \.json file beside the handler, got "\.\.\/etc\/passwd"/,
      ],
      ['nothing can read files', {}, undefined, /NAMESPACES_FILE is set, but this handler cannot read files beside its bundle/],
    ])('fails at cold start when %s', (_, extra, read, message) => {
      expect(() => readConfig({ ...handlerEnvironment(fromFile), ...extra }, read)).toThrow(message);
    });
  });

  it('lays the tunable settings of an environment (npm start’s) over a generated one, and nothing else', () => {
    const env = {
      REQUIRE_API_KEY: 'true',
      FANOUT_CONCURRENCY: '7',
      DELIVERY_RATE_PER_SECOND: '',
      CONNECTIONS_TABLE: 'elsewhere',
      HOME: '/root',
    };
    expect(tunableSettings(env)).toEqual({ REQUIRE_API_KEY: 'true', FANOUT_CONCURRENCY: '7' });
    const config = readConfig({ ...handlerEnvironment(settings), ...tunableSettings(env) });
    expect(config).toMatchObject({ requireToken: true, fanoutConcurrency: 7, connectionsTable: settings.connectionsTable });
  });
});
