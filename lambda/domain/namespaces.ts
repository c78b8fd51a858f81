/**
 * Channel namespaces: what a channel's namespace keeps (history) and tracks (presence), from the
 * project's own configuration over the deployment's defaults, read through a short cache so a
 * publish pays no read for it.
 */
import { SETTINGS_CACHE_SECONDS } from '../contract/limits';
import {
  HistoryConfig,
  NAMESPACE_LIMITS,
  NAMESPACE_NAME,
  NamespaceConfig,
  namespaceConfigProblem,
  namespaceOf,
} from '../contract/namespaces';
import type { NamespaceStore } from '../ports';
import { ErrorCode, Result, fail, ok } from '../protocol';

/** What applies to one channel. */
export interface ChannelConfig {
  readonly history?: HistoryConfig;
  /** Members are tracked: the namespace says so, or the channel is a `presence-…` one. */
  readonly presence: boolean;
}

export interface NamespaceView {
  readonly namespace: string;
  readonly config: NamespaceConfig;
  /** `project`: set for this project; `default`: the deployment's default. */
  readonly source: 'project' | 'default';
  readonly updatedAt: string | null;
}

const MAX_CACHED = 10_000;
const NONE: ChannelConfig = { presence: false };

export class Namespaces {
  private readonly cache = new Map<string, { byName: ReadonlyMap<string, NamespaceConfig>; until: number }>();

  constructor(
    private readonly store: NamespaceStore,
    private readonly defaults: Readonly<Record<string, NamespaceConfig>>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The configuration in force for a channel, at most {@link SETTINGS_CACHE_SECONDS} old. */
  async of(projectId: string, channel: string): Promise<ChannelConfig> {
    if (channel.startsWith('$')) return NONE;
    const config = (await this.forProject(projectId)).get(namespaceOf(channel));
    const presence = channel.startsWith('presence-') || config?.presence === true;
    return config?.history ? { history: config.history, presence } : { presence };
  }

  /** Every namespace configured for the project, its own and the defaults it has not replaced. */
  async list(projectId: string): Promise<NamespaceView[]> {
    const own = await this.store.list(projectId);
    const views: NamespaceView[] = own.map(({ namespace, config, updatedAt }) => ({ namespace, config, source: 'project', updatedAt }));
    for (const [namespace, config] of Object.entries(this.defaults)) {
      if (!own.some((o) => o.namespace === namespace)) views.push({ namespace, config, source: 'default', updatedAt: null });
    }
    return views.sort((a, b) => a.namespace.localeCompare(b.namespace));
  }

  /** Sets the project's configuration of a namespace, replacing the default whole. */
  async put(projectId: string, namespace: string, config: unknown): Promise<Result<NamespaceView>> {
    if (!NAMESPACE_NAME.test(namespace)) return fail(ErrorCode.invalidNamespace);
    const problem = namespaceConfigProblem(config);
    if (problem) return fail(ErrorCode.invalidNamespaceConfig, `Invalid namespace configuration: ${problem}`);
    const own = await this.store.list(projectId);
    if (!own.some((o) => o.namespace === namespace) && own.length >= NAMESPACE_LIMITS.perProject) {
      return fail(ErrorCode.invalidNamespaceConfig, `A project configures at most ${NAMESPACE_LIMITS.perProject} namespaces`);
    }
    const { history, presence } = config as NamespaceConfig;
    const stored = {
      namespace,
      config: {
        ...(history && { history: { size: history.size, ttlSeconds: history.ttlSeconds } }),
        ...(presence !== undefined && { presence }),
      },
      updatedAt: new Date(this.now()).toISOString(),
    };
    await this.store.put(projectId, stored);
    this.cache.delete(projectId);
    return ok({ ...stored, source: 'project' });
  }

  /** Removes the project's own configuration; the default (if any) applies again. */
  async remove(projectId: string, namespace: string): Promise<Result<{ namespace: string; removed: boolean }>> {
    if (!NAMESPACE_NAME.test(namespace)) return fail(ErrorCode.invalidNamespace);
    const removed = await this.store.remove(projectId, namespace);
    this.cache.delete(projectId);
    return ok({ namespace, removed });
  }

  private async forProject(projectId: string): Promise<ReadonlyMap<string, NamespaceConfig>> {
    const cached = this.cache.get(projectId);
    if (cached && cached.until > this.now()) return cached.byName;
    const byName = new Map(Object.entries(this.defaults));
    for (const { namespace, config } of await this.store.list(projectId)) byName.set(namespace, config);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(projectId, { byName, until: this.now() + SETTINGS_CACHE_SECONDS * 1000 });
    return byName;
  }
}
