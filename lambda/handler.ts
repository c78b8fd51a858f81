/**
 * The Lambda entry point behind both APIs. Clients are built once, at module scope, so warm
 * invocations reuse their connections.
 */
import { createHandler } from './app';
import { readConfig } from './config';
import { buildDependencies } from './dependencies';

export const handler = createHandler(buildDependencies(readConfig(process.env)));
