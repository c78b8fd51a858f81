/**
 * The operations layer's doors. A codec (edge/) turns its input into a call through one of these,
 * and nothing else: the door establishes the caller (a connection pays the operation's cost from
 * its rate limit first — a frame that did not even parse pays too; a backend's key or Pusher
 * signature is checked), applies the operation's access rule, and only then runs it.
 */
import type { AccessContext, Caller } from '../auth/access';
import type { Principal } from '../auth/principals';
import { type PusherRequest, verifyPusherRequest } from '../auth/pusher';
import type { ConnectionRecord, DeliveryOutcome } from '../ports';
import { ErrorCode, fail, Failure, failure, ok, Result } from '../protocol';
import type { BackgroundTask } from '../tasks';
import * as channels from './channels';
import { CloseReport, connect, ConnectRequest, disconnect, refusePusher } from './connections';
import type { Operation } from './operation';
import * as projects from './projects';
import * as publishing from './publish';
import type { Services } from './services';
import { runTask } from './tasks';

export type { Operation, Services, ConnectRequest };
export { isQueued, type PublishInput, type PublishOutcome, type Queued } from './publish';
export type { Subscribed, MembersPage } from './channels';
export { MAX_REPLY_BYTES } from './channels';

/** Every operation a client or backend can call, by name. */
export const OPERATIONS = {
  publish: publishing.publish,
  clientEvent: publishing.clientEvent,
  publishBatch: publishing.publishBatch,
  trigger: publishing.trigger,
  route: publishing.route,
  subscribe: channels.subscribe,
  unsubscribe: channels.unsubscribe,
  ping: channels.ping,
  signin: channels.signin,
  userChannel: channels.userChannel,
  history: channels.history,
  members: channels.members,
  getRetained: channels.getRetained,
  ack: channels.ack,
  clearRetained: projects.clearRetained,
  createKey: projects.createKey,
  listKeys: projects.listKeys,
  projectKeys: projects.projectKeys,
  revokeKey: projects.revokeKey,
  getSettings: projects.getSettings,
  putSettings: projects.putSettings,
  webhooks: projects.webhooks,
  listNamespaces: projects.listNamespaces,
  putNamespace: projects.putNamespace,
  deleteNamespace: projects.deleteNamespace,
  usage: projects.usage,
  status: projects.status,
  channelInfo: projects.channelInfo,
  terminateUser: projects.terminateUser,
  listChannels: projects.listChannels,
  publishStatus: projects.publishStatus,
  consoleToken: projects.consoleToken,
} as const;

/** Made only here: a backend whose key (or Pusher signature) the operations layer has checked. */
declare const checked: unique symbol;
export interface Backend {
  readonly kind: 'backend';
  readonly principal: Principal;
  readonly [checked]: true;
}

export class Operations {
  private readonly access: AccessContext;

  constructor(readonly services: Services) {
    this.access = { settings: services.settings, signingKey: (prefix) => services.apiKeys.signingKey(prefix), now: services.now };
  }

  /** A backend's `Authorization: Bearer <key>`: the master key, or a project's key. */
  async bearer(key: string | undefined): Promise<Result<Backend>> {
    const principal = await this.services.authorizer.identify(key);
    return principal
      ? ok(backend(principal))
      : fail(
          ErrorCode.unauthorized,
          'Unknown key: the key in Authorization: Bearer <key> is neither the master key nor a current project key (rbk_…)',
        );
  }

  /** A request to Pusher's REST API for an app (project), signed the Pusher way by one of its keys. */
  async pusherSigned(request: PusherRequest, appId: string | undefined): Promise<Result<Backend>> {
    const verified = await verifyPusherRequest(request, this.access.signingKey, Math.floor(Date.now() / 1000));
    if (!verified.ok) return verified;
    if (verified.value.projectId !== appId) return fail(ErrorCode.unauthorized, 'the key is not one of this app');
    return ok(backend({ kind: 'project', projectId: verified.value.projectId }));
  }

  /**
   * A backend's call. The part of the access rule that needs no input (the master key, say) is
   * decided first: a caller who may not call the operation at all learns nothing about its input.
   */
  async asBackend<I, O>(caller: Backend, op: Operation<I, O>, input: Result<I>): Promise<Result<O>> {
    if (!op.callers.includes('backend')) return fail(ErrorCode.unauthorized);
    const gate = op.access.gate(caller);
    if (!gate.ok) return gate;
    if (!input.ok) return input;
    return this.run(caller, op, input.value);
  }

  /**
   * A frame from a connection: the connection pays the operation's cost first, then its access is
   * checked, then it runs. `input` is the frame as parsed: one that did not parse is refused, and
   * paid for all the same.
   */
  async asConnection<I, O>(connectionId: string, op: Operation<I, O>, input: Result<I>): Promise<Result<O>> {
    const paid = await this.pays(connectionId, op.cost.before);
    if (!paid.ok) return paid;
    const caller = paid.value;
    if (!op.callers.includes('connection')) return fail(ErrorCode.unknownAction);
    const gate = op.access.gate(caller);
    if (!gate.ok) return gate;
    if (!input.ok) return input;
    const result = await this.run(caller, op, input.value);
    // What the call caused is owed after: the connection waits that much longer for its next frame.
    const owed = result.ok && op.cost.after ? op.cost.after(result.value) : 0;
    if (owed > 0) await this.services.connections.charge(connectionId, owed, caller.connection.rateLimit);
    return result;
  }

  /** A frame that is no call at all (not JSON, an unknown action): refused, after the connection pays for it. */
  async refuse(connectionId: string, failed: Failure): Promise<Failure> {
    const paid = await this.pays(connectionId, 1);
    return paid.ok ? failed : paid.error;
  }

  /** Posts to a connection: what a reply cannot carry (messages before it, or after it). */
  post(connectionId: string, body: string): Promise<DeliveryOutcome> {
    return this.services.delivery.post(connectionId, body);
  }

  /** `$connect`. */
  connect(request: ConnectRequest): Promise<Result<{ projectId: string }>> {
    return connect(request, this.services);
  }

  /** A Pusher connection refused at `$connect`: told why once it is open, then closed. False if that could not be asked for. */
  refusePusher(connectionId: string, failed: Failure, code?: number): Promise<boolean> {
    return refusePusher(connectionId, failed, this.services, code);
  }

  /** Closes a connection (API Gateway sends its `$disconnect`) and removes it now, whether or not the close went through. */
  async close(connectionId: string): Promise<void> {
    await this.services.delivery.close(connectionId);
    await this.services.membership.purge([{ connectionId }]);
  }

  /** The end of an invocation: webhook events it collected go to their background tasks. Never throws. */
  settle(): Promise<void> {
    return this.services.webhooks.flush();
  }

  /** `$disconnect`, with how API Gateway says it closed. */
  disconnect(connectionId: string, close?: CloseReport): Promise<void> {
    return disconnect(connectionId, this.services, close);
  }

  /** A background task (an asynchronous invocation of this function). */
  runTask(task: BackgroundTask, options: { requestId?: string; remainingMs: number }): Promise<void> {
    return runTask(task, this.services, options);
  }

  private async run<I, O>(caller: Caller, op: Operation<I, O>, input: I): Promise<Result<O>> {
    const scope = await op.access.check(caller, input, this.access);
    if (!scope.ok) return scope;
    this.services.telemetry.annotate({ projectId: scope.value });
    return op.run(input, { caller, projectId: scope.value }, this.services);
  }

  /**
   * Looks the connection up and takes a message from its rate limit in the same write (a
   * conditional update), then the rest of the cost: `not_connected` if there is no connection,
   * `rate_limited` if its bucket is empty.
   */
  private async pays(connectionId: string, cost: number): Promise<Result<{ kind: 'connection'; connection: ConnectionRecord }>> {
    const taken = await this.services.connections.take(connectionId, this.services.now());
    if (taken.status === 'missing') return fail(ErrorCode.notConnected);
    if (taken.status === 'limited') {
      // Refused again and again without ever letting its bucket fill: a flood, not a burst.
      if (taken.refusals < MAX_REFUSALS) return fail(ErrorCode.rateLimited);
      this.services.logger.warn('closing a connection that keeps exceeding its rate limit', { connectionId, refusals: taken.refusals });
      return {
        ok: false,
        error: {
          ...failure(
            ErrorCode.rateLimited,
            `This connection sent ${taken.refusals} frames over its rate limit and is closed; reconnect, and slow down`,
          ),
          closing: true,
        },
      };
    }
    // A user's connections share one budget too (a token's `sub`): sixty sockets send what a few would.
    if (!(await this.services.users.take(taken.connection))) {
      return fail(ErrorCode.rateLimited, 'This user’s connections together sent more than its project allows (userRateLimit); slow down');
    }
    // A call worth more than one message is allowed with one in the bucket, and the rest is owed.
    if (cost > 1) await this.services.connections.charge(connectionId, cost - 1, taken.connection.rateLimit);
    this.services.telemetry.annotate({ projectId: taken.connection.projectId });
    return ok({ kind: 'connection', connection: taken.connection });
  }
}

const backend = (principal: Principal): Backend => ({ kind: 'backend', principal }) as Backend;

/** Frames refused since a connection's bucket was last full, after which it is closed. */
export const MAX_REFUSALS = 20;
