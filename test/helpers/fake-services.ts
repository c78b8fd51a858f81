/**
 * Small typed fakes for operation tests: a `Services` holding only the parts a test gives, each
 * part only the methods it needs. Touching anything else fails the test with its name, so a test
 * shows exactly what an operation uses.
 */
import type { Caller } from '../../lambda/auth/access';
import type { ConnectionRecord } from '../../lambda/ports';
import type { Scope } from '../../lambda/operations/operation';
import type { Services } from '../../lambda/operations/services';
import { Telemetry } from '../../lambda/telemetry';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (...args: never[]) => unknown ? T[K] : Partial<T[K]> };

/** A part of Services with only some methods: others throw when called. */
function strict<T extends object>(name: string, given: Partial<T>): T {
  return new Proxy(given as T, {
    get(target, property) {
      if (property in target || typeof property === 'symbol' || property === 'then')
        return (target as Record<PropertyKey, unknown>)[property];
      throw new Error(`the test's fake ${name} has no ${String(property)}: the operation used it`);
    },
  });
}

export function fakeServices(parts: DeepPartial<Services>): Services {
  const telemetry = new Telemetry();
  const defaults: Partial<Services> = {
    telemetry,
    logger: telemetry.logger,
    now: () => Date.parse('2026-11-21T12:00:00.000Z'),
    backgroundFanoutAbove: 3,
  };
  const given = { ...defaults, ...parts } as Record<string, unknown>;
  return new Proxy(given as unknown as Services, {
    get(target, property) {
      const part = (target as unknown as Record<PropertyKey, unknown>)[property];
      if (part === undefined && typeof property === 'string')
        throw new Error(`the test's fake services have no ${property}: the operation used it`);
      return typeof part === 'object' && part !== null && typeof property === 'string' && !(property in defaults)
        ? strict(property, part)
        : part;
    },
  });
}

/** A stored connection, as a `take` returns it. */
export const connection = (overrides: Partial<ConnectionRecord> = {}): ConnectionRecord => ({
  connectionId: 'conn-1=',
  projectId: 'acme',
  connectedAt: 0,
  channels: [],
  ...overrides,
});

export const asConnection = (record: ConnectionRecord = connection()): Caller => ({ kind: 'connection', connection: record });
export const asProjectKey = (projectId = 'acme'): Caller => ({ kind: 'backend', principal: { kind: 'project', projectId } });
export const asMaster = (): Caller => ({ kind: 'backend', principal: { kind: 'master' } });

/** The scope an access rule gave: the caller and its project. */
export const scope = (caller: Caller, projectId = 'acme'): Scope => ({ caller, projectId });
