/**
 * What backends do with projects: keys (the master key's), settings, namespaces, usage and status,
 * channels and their counts, a publish's outcome, clearing a retained message, and the console's
 * short-lived token.
 */
import { ACCESS, mayAccess } from '../auth/access';
import { signClientToken } from '../auth/tokens';
import type { NamespaceView } from '../domain/namespaces';
import type { ProjectStatus, ProjectUsage } from '../domain/projects';
import type { SettingsChange, SettingsView } from '../domain/settings';
import type { PublishStatus } from '../domain/big-channels';
import type { ApiKeyRecord, WebhookFailure } from '../ports';
import type { Webhook } from '../contract/limits';
import { ErrorCode, fail, FanoutCounts, ok, pusherUserIdSchema, Result } from '../protocol';
import { FLAT, operation } from './operation';
import type { Services } from './services';

/** A backend's call on a project it names (in the path, the query or the body). */
interface OnProject {
  readonly projectId?: string;
}
const named = (input: OnProject) => input.projectId;

/**
 * Anonymous connections a project no longer takes are closed now, not left to live out their two
 * hours; how many, for the answer.
 */
async function closeAnonymousIfRefused(projectId: string, services: Services): Promise<number> {
  const { settings } = await services.settings.read(projectId);
  if (settings.anonymousConnect && !services.requireToken) return 0;
  const disconnected = await services.revocation.closeAnonymous(projectId);
  if (disconnected > 0) services.logger.info('anonymous connections closed', { projectId, disconnected });
  return disconnected;
}

export const createKey = operation<
  { readonly projectId: string; readonly description: string },
  ApiKeyRecord & { apiKey: string; disconnected: number }
>({
  name: 'create key',
  callers: ['backend'],
  access: ACCESS.master(named),
  cost: FLAT,
  async run({ projectId, description }, _, services) {
    // First, so there is no moment when a project has a key and is still open; unless the master
    // key has chosen otherwise, a project with a key needs tokens and grants.
    await services.settings.protect(projectId);
    const created = await services.apiKeys.create(projectId, description);
    if (!created.ok) return created;
    services.logger.info('api key created', { projectId, keyPrefix: created.value.keyPrefix });
    return ok({ ...created.value, disconnected: await closeAnonymousIfRefused(projectId, services) });
  },
});

export const listKeys = operation<unknown, ApiKeyRecord[]>({
  name: 'list keys',
  callers: ['backend'],
  access: ACCESS.master(),
  cost: FLAT,
  run: async (_, __, services) => ok(await services.apiKeys.list()),
});

/** The project's keys; the newest's fields at the top, as when a project had only one. */
export const projectKeys = operation<{ readonly projectId: string }, ApiKeyRecord & { keys: ApiKeyRecord[] }>({
  name: 'project keys',
  callers: ['backend'],
  access: ACCESS.master(named),
  cost: FLAT,
  async run({ projectId }, _, services) {
    const keys = await services.apiKeys.of(projectId);
    return keys.ok ? ok({ ...keys.value[keys.value.length - 1], keys: keys.value }) : keys;
  },
});

/** Revokes one key, or every key of the project, and closes the connections their tokens let in. */
export const revokeKey = operation<
  { readonly projectId: string; readonly keyPrefix?: string },
  { projectId: string; revoked: string[]; disconnected: number }
>({
  name: 'revoke key',
  callers: ['backend'],
  access: ACCESS.master(named),
  cost: FLAT,
  async run({ projectId, keyPrefix }, _, services) {
    const revoked = await services.apiKeys.revoke(projectId, keyPrefix);
    if (!revoked.ok) return revoked;
    const prefixes = revoked.value.map((key) => key.keyPrefix);
    const disconnected = await services.revocation.closeSignedBy(projectId, prefixes);
    services.logger.info('api key revoked', { projectId, keyPrefixes: prefixes, disconnected });
    return ok({ projectId, revoked: prefixes, disconnected });
  },
});

/** A project's backend may read its own settings (its token lifetime, say), never change them. */
export const getSettings = operation<{ readonly projectId: string }, SettingsView>({
  name: 'get settings',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  run: async (_, scope, services) => ok(await services.settings.read(scope.projectId)),
});

export const putSettings = operation<
  { readonly projectId: string; readonly change: SettingsChange },
  SettingsView & { disconnected?: number }
>({
  name: 'put settings',
  callers: ['backend'],
  access: ACCESS.master(named),
  cost: FLAT,
  async run({ projectId, change }, _, services) {
    if (change.subscriptionCount && !services.lifecycle.enabled) {
      return fail(
        ErrorCode.invalidRequest,
        'Subscription counts come from lifecycle events, which this deployment does not send: deploy with lifecycleEvents (-c lifecycleEvents=true)',
      );
    }
    if (change.webhooks && change.webhooks.length > 0) {
      const refused = await webhooksRefusal(projectId, change.webhooks, services);
      if (refused) return refused;
    }
    const updated = await services.settings.update(projectId, change);
    services.logger.info('project settings changed', { projectId, fields: Object.keys(change) });
    if (change.anonymousConnect !== false) return ok(updated);
    return ok({ ...updated, disconnected: await closeAnonymousIfRefused(projectId, services) });
  },
});

/** A name or address that is this machine's or a private network's, which no webhook should reach. */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal')) return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    const privateV4 = a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
    return a === 0 || a === 127 || (a === 169 && b === 254) || privateV4;
  }
  // IPv6 literals: loopback, unspecified, unique local (fc00::/7), link-local (fe80::/10), IPv4-mapped.
  return (
    host.includes(':') && (host === '::1' || host === '::' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host) || host.startsWith('::ffff:'))
  );
}

/** Why a project cannot have these webhooks here, if it cannot. */
async function webhooksRefusal(projectId: string, webhooks: readonly Webhook[], services: Services): Promise<Result<never> | undefined> {
  if (!services.lifecycle.enabled) {
    return fail(
      ErrorCode.invalidRequest,
      'Webhooks ride on lifecycle events, which this deployment does not send: deploy with lifecycleEvents (-c lifecycleEvents=true)',
    );
  }
  if (!services.webhooksAllowHttp) {
    const insecure = webhooks.find((hook) => !hook.url.startsWith('https://'));
    if (insecure) return fail(ErrorCode.invalidMessage, `A webhook url must be https:// (not ${new URL(insecure.url).origin})`);
    const internal = webhooks.find((hook) => isInternalHost(new URL(hook.url).hostname));
    if (internal) {
      return fail(
        ErrorCode.invalidMessage,
        `A webhook url must name a public host (not ${new URL(internal.url).hostname}): receivers are reached over the internet`,
      );
    }
  }
  if (!(await services.apiKeys.hasKeys(projectId))) {
    return fail(ErrorCode.invalidRequest, `Webhooks are signed with a project key: create one for ${projectId} first (POST /api-keys)`);
  }
  return undefined;
}

/** A project's webhooks and their last failed attempts (newest first): its own backend may read them. */
export const webhooks = operation<
  { readonly projectId: string },
  { projectId: string; webhooks: readonly Webhook[]; failures: readonly WebhookFailure[] }
>({
  name: 'webhooks',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run(_, scope, services) {
    const [settings, failures] = await Promise.all([services.settings.of(scope.projectId), services.webhooks.failures(scope.projectId)]);
    return ok({ projectId: scope.projectId, webhooks: settings.webhooks, failures });
  },
});

/** Namespaces are the project's own business: its key may change them too. */
export const listNamespaces = operation<{ readonly projectId: string }, { projectId: string; namespaces: NamespaceView[] }>({
  name: 'list namespaces',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  run: async (_, { projectId }, services) => ok({ projectId, namespaces: await services.namespaces.list(projectId) }),
});

export const putNamespace = operation<{ readonly projectId: string; readonly namespace: string; readonly config: unknown }, NamespaceView>({
  name: 'put namespace',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run({ namespace, config }, { projectId }, services) {
    const stored = await services.namespaces.put(projectId, namespace, config);
    if (stored.ok) services.logger.info('namespace configured', { projectId, namespace });
    return stored;
  },
});

export const deleteNamespace = operation<
  { readonly projectId: string; readonly namespace: string },
  { namespace: string; removed: boolean }
>({
  name: 'delete namespace',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run({ namespace }, { projectId }, services) {
    const removed = await services.namespaces.remove(projectId, namespace);
    if (removed.ok && removed.value.removed) services.logger.info('namespace configuration removed', { projectId, namespace });
    return removed;
  },
});

export const usage = operation<OnProject, ProjectUsage>({
  name: 'usage',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  run: (_, { projectId }, services) => services.projects.usage(projectId),
});

export const status = operation<OnProject, ProjectStatus>({
  name: 'status',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  run: (_, { projectId }, services) => services.projects.status(projectId),
});

export interface ChannelInfo {
  readonly projectId: string;
  readonly channel: string;
  readonly subscribers: number;
  /** Presence channels, when asked: the members now. */
  readonly users?: number;
}

/** A channel's subscribers (and members, when asked on a presence channel). */
export const channelInfo = operation<OnProject & { readonly channel: string; readonly users?: boolean }, ChannelInfo>({
  name: 'channel',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run({ channel, users }, { projectId }, services) {
    const counted = await services.projects.channel(projectId, channel);
    if (!counted.ok) return counted;
    if (!users) return counted;
    return ok({ ...counted.value, users: (await services.members.list(projectId, channel)).length });
  },
});

/** The most connections one `terminateUserConnections` closes: a user's, which signing in bounds only by the backend's will. */
export const MAX_USER_CONNECTIONS_CLOSED = 1000;

/** Pusher's `terminateUserConnections`: closes every connection signed in as the user, within seconds. */
export const terminateUser = operation<OnProject & { readonly userId: string }, { closed: number }>({
  name: 'terminate user',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run({ userId }, { projectId }, services) {
    if (!pusherUserIdSchema.safeParse(userId).success) return fail(ErrorCode.invalidRequest, 'Invalid user id');
    return ok({ closed: await services.revocation.closeUser(projectId, userId, MAX_USER_CONNECTIONS_CLOSED) });
  },
});

/** The project's occupied channels whose names start with `prefix`, with their members when asked. */
export const listChannels = operation<OnProject & { readonly prefix: string; readonly users?: boolean }, ChannelInfo[]>({
  name: 'channels',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run({ prefix, users }, { projectId }, services) {
    const status = await services.projects.status(projectId);
    const occupied = status.ok ? status.value.channels.filter((c) => c.channel.startsWith(prefix) && c.subscribers > 0) : [];
    return ok(
      await Promise.all(
        occupied.map(async ({ channel, subscribers }) => ({
          projectId,
          channel,
          subscribers,
          ...(users && { users: (await services.members.list(projectId, channel)).length }),
        })),
      ),
    );
  },
});

/**
 * A publish's outcome, for the master key or the key of the publish's project: its counts so far and
 * `status` — delivering, done, or failed (a background task was lost; the counts say what was delivered).
 */
export const publishStatus = operation<{ readonly id: string }, PublishStatus>({
  name: 'publish status',
  callers: ['backend'],
  access: ACCESS.backend,
  cost: FLAT,
  async run({ id }, scope, services) {
    // Ids are short printable strings without `#` (the store's own items have one); anything else
    // names no publish, and is never a store key.
    if (!/^[\x21\x22\x24-\x7e]{1,128}$/.test(id)) return fail(ErrorCode.publishNotFound);
    const record = await services.publishes.get(id);
    if (!record || scope.caller.kind !== 'backend' || !mayAccess(scope.caller.principal, record.projectId))
      return fail(ErrorCode.publishNotFound);
    return ok(await services.bigChannels.status(record));
  },
});

/** Removes a channel's retained broadcast and tells its subscribers. */
export const clearRetained = operation<OnProject & { readonly channel: string }, { channel: string; cleared: boolean } & FanoutCounts>({
  name: 'clear retained',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  run: async ({ channel }, { projectId }, services) => ok({ channel, ...(await services.retention.clear(projectId, channel)) }),
});

/** How long a console's WebSocket token lasts: it asks again for each channel it watches. */
const CONSOLE_TOKEN_SECONDS = 300;

/**
 * A short-lived client token for the console's live view of a project the key may read: signed
 * with the project's newest key (no token for a project without keys, which takes anonymous
 * connections). It grants nothing the key could not grant itself.
 */
export const consoleToken = operation<
  OnProject,
  { projectId: string; webSocketUrl: string; token: string | null; expiresIn: number | null }
>({
  name: 'console token',
  callers: ['backend'],
  access: ACCESS.project(named),
  cost: FLAT,
  async run(_, { projectId }, services) {
    const keys = await services.apiKeys.of(projectId);
    const newest = keys.ok ? keys.value.at(-1) : undefined;
    const signing = newest && (await services.apiKeys.signingKey(newest.keyPrefix));
    // An observer: it watches presence channels without joining (and announcing itself to) their members.
    const token = signing
      ? await signClientToken({ sub: 'console', channels: ['*'], observe: true }, signing, CONSOLE_TOKEN_SECONDS)
      : null;
    return ok({ projectId, webSocketUrl: services.webSocketUrl, token, expiresIn: token ? CONSOLE_TOKEN_SECONDS : null });
  },
});
