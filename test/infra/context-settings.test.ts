/** The provided app's settings come from CDK context: each key reaches the template, and a bad value fails at synth naming the setting. */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENV } from '../../lambda/contract/config';
import { BroadcastStack } from '../../lib/broadcast-stack';
import { readContextSettings } from '../../lib/context-settings';

const dir = mkdtempSync(path.join(tmpdir(), 'context-'));
const namespacesFile = path.join(dir, 'namespaces.json');
writeFileSync(namespacesFile, JSON.stringify({ chat: { history: { size: 50, ttlSeconds: 3600 }, presence: true } }));

const settingsOf = (context: Record<string, unknown>) => readContextSettings(new App({ context }).node, dir);

describe('context settings', () => {
  it('reach the stack: name, stage, token requirement, alarm email, memory, delivery rate, namespaces, log level, lifecycle events', () => {
    const app = new App({
      context: {
        stackName: 'RealtimeStaging',
        stageName: 'staging',
        requireToken: 'true',
        alarmEmail: 'ops@example.com',
        memorySize: '1024',
        deliveryRatePerSecond: 4000,
        namespaces: 'namespaces.json',
        logLevel: 'DEBUG',
        lifecycleEvents: 'true',
      },
    });
    const settings = readContextSettings(app.node, dir);
    expect(settings.stackName).toBe('RealtimeStaging');
    const stack = new BroadcastStack(app, settings.stackName, { broadcast: settings.broadcast });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 1024,
      Environment: {
        Variables: Match.objectLike({
          [ENV.requireToken]: 'true',
          [ENV.deliveryRatePerSecond]: '4000',
          [ENV.namespacesFile]: 'namespaces.json',
          [ENV.eventBusName]: 'default',
          POWERTOOLS_LOG_LEVEL: 'DEBUG',
        }),
      },
    });
    // The namespace defaults travel beside the handler's bundle.
    const { directory } = app.synth();
    const asset = readdirSync(directory).find((d) => d.startsWith('asset.') && existsSync(path.join(directory, d, 'index.js')))!;
    expect(JSON.parse(readFileSync(path.join(directory, asset, 'namespaces.json'), 'utf8'))).toEqual({
      chat: { history: { size: 50, ttlSeconds: 3600 }, presence: true },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: 'staging' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('default to the construct’s defaults when nothing is set', () => {
    expect(settingsOf({})).toEqual({ stackName: 'RealtimeBroadcast', broadcast: {} });
  });

  it.each([
    [{ memorySize: 'lots' }, /Context setting memorySize must be a whole number from 128 to 10240, got "lots"/],
    [{ requireToken: 'yes' }, /Context setting requireToken must be true or false/],
    [{ alarmEmail: 'nobody' }, /Context setting alarmEmail must be an email address/],
    [{ logLevel: 'LOUD' }, /Context setting logLevel must be DEBUG, INFO, WARN, ERROR/],
    [{ stageName: 'has space' }, /Context setting stageName/],
    [{ stackName: '1bad' }, /Context setting stackName/],
    [{ namespaces: 'missing.json' }, /Context setting namespaces: cannot read .*missing\.json as JSON/],
  ])('refuses %j at synth, naming the setting', (context, message) => {
    expect(() => settingsOf(context)).toThrow(message);
  });

  it('fails synth on a misspelled key, naming it, the likely one and every known key', () => {
    expect(() => settingsOf({ stagename: 'staging' })).toThrow(
      'Unknown context key stagename (did you mean stageName?): the app reads stackName, stageName, requireToken, alarmEmail, memorySize, deliveryRatePerSecond, namespaces, logLevel, lifecycleEvents',
    );
    expect(() => settingsOf({ 'alarm-email': 'a@b.c', colour: 'blue' })).toThrow(
      /^Unknown context keys alarm-email \(did you mean alarmEmail\?\), colour: the app reads stackName/,
    );
  });

  it('lets the CDK’s own context through: cdk.json’s feature flags, the CLI’s aws:cdk: keys, cached lookups', () => {
    const cdkJson = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    expect(Object.keys(cdkJson.context).length).toBeGreaterThan(0);
    const context = {
      ...cdkJson.context,
      'aws:cdk:enable-path-metadata': true,
      'availability-zones:account=123456789012:region=eu-west-1': ['eu-west-1a'],
      'acknowledged-issue-numbers': [32775],
      stageName: 'staging',
    };
    expect(settingsOf(context).broadcast.stageName).toBe('staging');
  });

  it('refuses a namespaces file with a bad configuration', () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ chat: { history: { size: 5000, ttlSeconds: 60 } } }));
    expect(() => settingsOf({ namespaces: bad })).toThrow(
      /Context setting namespaces \(.*bad\.json\): namespace chat: history.size must be an integer from 1 to 1000/,
    );
  });

  it('outputs ready-to-paste commands: wscat, a curl broadcast, the master key, a first project key', () => {
    const template = Template.fromStack(new BroadcastStack(new App(), 'Outputs'));
    template.hasOutput('TryWebSocket', { Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^npx wscat -c wss://')])] } });
    template.hasOutput('TryBroadcast', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('^curl -X POST https://')])] },
    });
    template.hasOutput('CreateProjectKey', {
      Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('"projectId":"my-app"')])] },
    });
  });
});
