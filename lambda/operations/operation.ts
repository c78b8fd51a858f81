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
  /** What a connection's call costs, in messages of its rate limit. */
  readonly cost: Cost<O>;
  run(input: I, scope: Scope, services: Services): Promise<Result<O>>;
}

/**
 * A call's cost to a connection, in messages of its rate limit: `before` is taken before it runs (a
 * refused or malformed frame pays it too); `after` is owed once it ran, by what it caused — notices
 * it sent, bytes it read — so a connection that causes much waits longer before its next frame.
 */
export interface Cost<O> {
  readonly before: number;
  readonly after?: (output: O) => number;
}

/** One message, whatever the call causes. */
export const FLAT: Cost<unknown> = { before: 1 };

/** Work caused, in messages: one per `per` of it, the first `per` free. */
export const per = (amount: number, unit: number): number => Math.floor(Math.max(0, amount - 1) / unit);

/** Declares an operation (keeps the literal types of its declaration). */
export const operation = <I, O>(declared: Operation<I, O>): Operation<I, O> => declared;

/** An operation's input type. */
export type InputOf<T> = T extends Operation<infer I, unknown> ? I : never;
/** An operation's output type. */
export type OutputOf<T> = T extends Operation<never, infer O> ? O : never;
