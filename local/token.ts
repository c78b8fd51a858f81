/**
 * `npm run -s token -- --project P --sub alice [--ttl 3600] [--channels 'private-*,presence-room-*']
 * [--publish 'chat-*'] [--monitor] [--info '{"name":"Alice"}']`: prints a client token, signed
 * with the project key in PROJECT_API_KEY, as a project's backend would sign one.
 *
 * The lifetime is checked against the project's `maxTokenTtlSeconds`, read from the running
 * stack (BROADCAST_HTTP_URL, else URL as `npm start` prints it, else http://127.0.0.1:3000) with that same key; if the stack
 * cannot be reached the default maximum (24 h) applies, and it says so.
 */
import { parseArgs } from 'node:util';
import { OPEN_PROJECT_SETTINGS } from '../lambda/contract/limits';
import { API_KEY_PREFIX } from '../lambda/auth/api-keys';
import { keyPrefixOf, signClientToken } from '../lambda/auth/tokens';

const USAGE = `usage: PROJECT_API_KEY=<key> npm run -s token -- --project <id> --sub <user> [--ttl seconds] [--channels p1,p2] [--publish p1,p2] [--monitor] [--info <json>]`;

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

async function maxTtlOf(projectId: string, apiKey: string): Promise<number> {
  // URL is the variable `npm start` prints for pasting; BROADCAST_HTTP_URL wins where both are set.
  const base = process.env.BROADCAST_HTTP_URL || process.env.URL || 'http://127.0.0.1:3000';
  let response: Response;
  try {
    response = await fetch(`${base}/projects/${encodeURIComponent(projectId)}/settings`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(3000),
    });
  } catch {
    console.error(
      `(could not reach ${base} to read the project's maximum token lifetime; assuming the default, ${OPEN_PROJECT_SETTINGS.maxTokenTtlSeconds} s)`,
    );
    return OPEN_PROJECT_SETTINGS.maxTokenTtlSeconds;
  }
  if (response.status === 401) fail(`PROJECT_API_KEY is not a current key of project ${projectId} at ${base}`);
  if (!response.ok) fail(`${base} answered ${response.status} when asked for project ${projectId}'s settings`);
  return ((await response.json()) as { data: { settings: { maxTokenTtlSeconds: number } } }).data.settings.maxTokenTtlSeconds;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      project: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      channels: { type: 'string' },
      publish: { type: 'string' },
      monitor: { type: 'boolean', default: false },
      info: { type: 'string' },
    },
    strict: true,
  });
  const apiKey = process.env.PROJECT_API_KEY;
  if (!values.project || !values.sub || !apiKey) fail(USAGE);
  // The master key reads settings, so without this check it would sign a token every server refuses.
  if (!apiKey.startsWith(API_KEY_PREFIX)) {
    fail(
      `PROJECT_API_KEY is not a project key: tokens are signed with a project key (${API_KEY_PREFIX}…), never the master key. Create one with the master key:\n` +
        `  curl -X POST "$URL/api-keys" -H "Authorization: Bearer $KEY" -d '{"projectId":"${values.project}"}'\n` +
        `and pass its apiKey: PROJECT_API_KEY=${API_KEY_PREFIX}… npm run -s token -- --project ${values.project} --sub ${values.sub}`,
    );
  }
  if (!/^\d+$/.test(values.ttl) || Number(values.ttl) < 1) fail(`--ttl must be a whole number of seconds, got "${values.ttl}"`);
  const ttl = Number(values.ttl);
  const maxTtl = await maxTtlOf(values.project, apiKey);
  if (ttl > maxTtl)
    fail(`--ttl ${ttl} is over project ${values.project}'s maximum token lifetime (${maxTtl} s); the server would refuse this token`);
  let info: Record<string, unknown> | undefined;
  if (values.info !== undefined) {
    try {
      info = JSON.parse(values.info) as Record<string, unknown>;
    } catch {
      fail('--info must be a JSON object');
    }
  }
  const list = (raw?: string) =>
    raw
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
  const token = await signClientToken(
    {
      sub: values.sub,
      ...(values.channels && { channels: list(values.channels) }),
      ...(values.publish && { publish: list(values.publish) }),
      ...(values.monitor && { monitor: true }),
      ...(info && { info }),
    },
    { apiKey, keyPrefix: keyPrefixOf(apiKey) },
    ttl,
  );
  console.log(token);
}

main().catch((error) => fail(error instanceof Error ? error.message : String(error)));
