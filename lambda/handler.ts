/**
 * The Lambda entry point behind both APIs. Clients are built once, at module scope, so warm
 * invocations reuse their connections.
 */
import { createHandler } from './edge/app';
import { readConfig } from './contract/config';
import { buildDependencies } from './compose';

export const handler = createHandler(buildDependencies(readConfig(process.env)));
