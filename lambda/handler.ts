/**
 * The Lambda entry point behind both APIs. Clients are built once, at module scope, so warm
 * invocations reuse their connections.
 */
import { buildDependencies, handlerFor } from './compose';
import { readConfig } from './contract/config';

export const handler = handlerFor(buildDependencies(readConfig(process.env)));
