/**
 * The Lambda entry point behind both APIs. Clients are built once, at module scope, so warm
 * invocations reuse their connections.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildDependencies, handlerFor } from './compose';
import { readConfig } from './contract/config';

/** Files the construct writes beside the bundle (namespace defaults), read once at cold start. */
const readBesideBundle = (name: string) => readFileSync(path.join(__dirname, name), 'utf8');

export const handler = handlerFor(buildDependencies(readConfig(process.env, readBesideBundle)));
