#!/usr/bin/env node
/**
 * The provided app: one stack, configured by CDK context (cdk.json or `-c key=value`), never by
 * editing code. See lib/context-settings.ts for the keys.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { BroadcastStack } from '../lib/broadcast-stack';
import { readContextSettings } from '../lib/context-settings';

const app = new App();
const settings = readContextSettings(app.node, path.join(__dirname, '..'));
new BroadcastStack(app, settings.stackName, {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  broadcast: settings.broadcast,
});
