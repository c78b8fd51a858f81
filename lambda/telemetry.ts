/**
 * Structured logging with Powertools Logger. Log lines carry ids and routes, never keys,
 * Authorization headers or message payloads.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const SERVICE_NAME = 'realtime-broadcast';

export const createLogger = (): Logger => new Logger({ serviceName: SERVICE_NAME });
