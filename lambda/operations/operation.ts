/**
 * What an operation is: one thing a client or backend can do, declared with who may call it (its
 * access rule), what it costs a connection that calls it, and the work it does. Operations know
 * nothing of API Gateway events, HTTP statuses or wire formats; codecs (edge/) call them only
 * through the doors in `index.ts`, which apply the declaration before the work.
 */
import type { AccessRule, Caller, CallerKind } from '../auth/access';
import type { Result } from '../protocol';
import type { Services } from './services';

/** Who is calling and the project the access rule gave the call. */
export interface Scope {
  readonly caller: Caller;
  readonly projectId: string;
}

export interface Operation<I, O> {
  readonly name: string;
  /** Who may call it at all: connections (WebSocket frames), backends (keys), or both. */
  readonly callers: readonly CallerKind[];
  /** Who may call it on what: checked before `run`. */
  readonly access: AccessRule<I>;
  /** Tokens a connection's call takes from its rate limit, before it runs (a refused call pays too). */
  readonly cost: number;
  run(input: I, scope: Scope, services: Services): Promise<Result<O>>;
}

/** Declares an operation (keeps the literal types of its declaration). */
export const operation = <I, O>(declared: Operation<I, O>): Operation<I, O> => declared;

/** An operation's input type. */
export type InputOf<T> = T extends Operation<infer I, unknown> ? I : never;
/** An operation's output type. */
export type OutputOf<T> = T extends Operation<never, infer O> ? O : never;
