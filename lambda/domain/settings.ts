/**
 * Project settings: what the master key decides for a project (who may connect and publish, the
 * rate limit, the longest token), read through a short cache so the hot path pays no read.
 */
import { KEYED_PROJECT_SETTINGS, OPEN_PROJECT_SETTINGS, ProjectSettings, SETTINGS_CACHE_SECONDS } from '../contract/limits';
import type { SettingsStore } from '../ports';

/** A change to a project's settings: the fields given replace the current ones. */
export type SettingsChange = Partial<ProjectSettings>;

export interface SettingsView {
  readonly projectId: string;
  readonly settings: ProjectSettings;
  /** When the master key (or the first key's creation) last set them; null while the defaults apply. */
  readonly updatedAt: string | null;
}

/** Settings stored before a setting existed get its default. */
const withDefaults = (stored: Partial<ProjectSettings> | undefined): ProjectSettings => ({ ...OPEN_PROJECT_SETTINGS, ...stored });

/** Bounds the cache: a flood of made-up project ids must not grow memory without end. */
const MAX_CACHED = 10_000;

export class Settings {
  private readonly cache = new Map<string, { settings: ProjectSettings; until: number }>();

  constructor(
    private readonly store: SettingsStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The settings in force, at most {@link SETTINGS_CACHE_SECONDS} old. */
  async of(projectId: string): Promise<ProjectSettings> {
    const cached = this.cache.get(projectId);
    if (cached && cached.until > this.now()) return cached.settings;
    const settings = withDefaults((await this.store.get(projectId))?.settings);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(projectId, { settings, until: this.now() + SETTINGS_CACHE_SECONDS * 1000 });
    return settings;
  }

  /** The settings as stored now, uncached. */
  async read(projectId: string): Promise<SettingsView> {
    const stored = await this.store.get(projectId);
    return { projectId, settings: withDefaults(stored?.settings), updatedAt: stored?.updatedAt ?? null };
  }

  async update(projectId: string, change: SettingsChange): Promise<SettingsView> {
    const current = await this.read(projectId);
    const settings: ProjectSettings = { ...current.settings, ...change };
    const updatedAt = new Date(this.now()).toISOString();
    await this.store.put(projectId, { settings, updatedAt });
    this.cache.delete(projectId);
    return { projectId, settings, updatedAt };
  }

  /**
   * Called when a project gets its first key: unless the master key has already chosen, the
   * project stops being open (clients need tokens, publish only where granted). Revoking keys
   * later never opens it again.
   */
  async protect(projectId: string): Promise<void> {
    await this.store.putIfAbsent(projectId, { settings: KEYED_PROJECT_SETTINGS, updatedAt: new Date(this.now()).toISOString() });
    this.cache.delete(projectId);
  }
}
