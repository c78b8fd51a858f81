#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { BroadcastStack } from '../lib/broadcast-stack';

const app = new App();
new BroadcastStack(app, 'RealtimeBroadcast', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
