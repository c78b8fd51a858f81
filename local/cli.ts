/**
 * `npm start`: runs the local stack until Ctrl-C, and prints how to talk to it.
 *
 * Settings (environment): HOST, HTTP_PORT (3000), WS_PORT (3001), PUSHER_PORT (3002), BROADCAST_ACCESS_KEY
 * (generated when unset), LOCAL_DATA_DIR (persist the store; in memory when unset),
 * REQUIRE_TOKEN (`true`: every connection needs a client token, as the construct's `requireToken`;
 * REQUIRE_API_KEY, its former name, too), and the handler's other settings under the names the
 * construct gives them (FANOUT_CONCURRENCY, DELIVERY_RATE_PER_SECOND, BACKGROUND_FANOUT_ABOVE, …).
 * STAGE_THROTTLE and ACCOUNT_THROTTLE (`rate/burst`, or `off`) set the local gateway's throttles.
 * IAM_ENFORCEMENT (`on`, the default, or `off`): whether the handler's AWS calls are held to its
 * role's policy, derived from the construct. NAMESPACES: the namespace defaults (JSON, as the
 * construct's `namespaces`). LIFECYCLE_EVENTS=off, LIFECYCLE_EVENTS_FILE: lifecycle events' file.
 */
import { randomBytes } from 'node:crypto';
import { startLocalStack } from './stack';

function flag(name: string): boolean {
  const raw = (process.env[name] ?? '').toLowerCase();
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  throw new Error(`${name} must be true or false, got "${process.env[name]}"`);
}

/** `1000/500` → a rate and a burst; `off` → none; unset → the default. */
function throttle(name: string): { rateLimit: number; burstLimit: number } | false | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'off') return false;
  const match = /^(\d+(?:\.\d+)?)\/(\d+)$/.exec(raw);
  if (!match) throw new Error(`${name} must be rate/burst (like 1000/500) or off, got "${raw}"`);
  return { rateLimit: Number(match[1]), burstLimit: Number(match[2]) };
}

function iamEnforcement(): boolean {
  const raw = (process.env.IAM_ENFORCEMENT ?? '').toLowerCase();
  if (raw === '' || raw === 'on') return true;
  if (raw === 'off') return false;
  throw new Error(`IAM_ENFORCEMENT must be on or off, got "${process.env.IAM_ENFORCEMENT}"`);
}

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number, got "${raw}"`);
  return value;
}

/** A value as one shell word: as it is when nothing in it is special, else single-quoted. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

async function main(): Promise<void> {
  // The SDK warns that its 2027 releases need Node 22; the deployed handler runs on Node 22 already.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Files the store writes (key hashes among them) are for this user only.
  if (process.env.LOCAL_DATA_DIR) process.umask(0o077);
  const accessKey = process.env.BROADCAST_ACCESS_KEY || randomBytes(24).toString('hex');
  const stack = await startLocalStack({
    accessKey,
    host: process.env.HOST || '127.0.0.1',
    httpPort: port('HTTP_PORT', 3000),
    wsPort: port('WS_PORT', 3001),
    pusherPort: port('PUSHER_PORT', 3002),
    dataDir: process.env.LOCAL_DATA_DIR || undefined,
    requireToken: flag('REQUIRE_TOKEN'),
    settings: process.env,
    throttle: { stage: throttle('STAGE_THROTTLE'), account: throttle('ACCOUNT_THROTTLE') },
    iam: iamEnforcement() ? {} : false,
    lifecycleEventsFile: process.env.LIFECYCLE_EVENTS === 'off' ? false : process.env.LIFECYCLE_EVENTS_FILE || undefined,
  });
  const iam = stack.policy
    ? `enforced: the handler's calls are checked against its role's ${stack.policy.statements.length} policy statements from the construct (IAM_ENFORCEMENT=off to stop)`
    : 'not enforced (IAM_ENFORCEMENT=off): every call the handler makes is allowed';
  const keySource = process.env.BROADCAST_ACCESS_KEY ? 'from BROADCAST_ACCESS_KEY' : 'generated; set BROADCAST_ACCESS_KEY to choose one';
  const pusher = new URL(stack.pusherUrl);
  const pusherJs = `new Pusher('<app key>', { cluster: 'mt1', wsHost: '${pusher.hostname}', wsPort: ${stack.pusherPort}, forceTLS: false, enabledTransports: ['ws'] })`;
  const variables = `export URL=${shellWord(stack.httpUrl)} WS=${shellWord(stack.webSocketUrl)} KEY=${shellWord(accessKey)}`;
  console.log(`
Realtime broadcast, running locally
  WebSocket API  ${stack.webSocketUrl}
  HTTP API       ${stack.httpUrl}  (POST /broadcast, GET /health)
  Pusher         ${stack.pusherUrl}/app/<app key>  (the construct's CloudFront Function in front of the WebSocket API)
  Console        ${stack.httpUrl}/console  (sign in with the access key)
  Access key     ${accessKey}  (${keySource})
  Store          ${process.env.LOCAL_DATA_DIR ? `dynalite, saved in ${process.env.LOCAL_DATA_DIR}` : 'dynalite, in memory'}
  IAM            ${iam}
  Lifecycle      ${stack.lifecycleEventsFile ? `events written to ${stack.lifecycleEventsFile} (LIFECYCLE_EVENTS=off to stop)` : 'events off (LIFECYCLE_EVENTS=off)'}
  Namespaces     ${process.env.NAMESPACES ? `defaults from NAMESPACES: ${process.env.NAMESPACES}` : 'no defaults (set NAMESPACES, or PUT /projects/{id}/namespaces/{ns})'}
  Anonymous      ${flag('REQUIRE_TOKEN') || flag('REQUIRE_API_KEY') ? 'refused everywhere (REQUIRE_TOKEN=true)' : 'accepted in projects without a key, like default'}

Paste this line into each terminal you use; the docs' examples use these variables:
  ${variables}

Try it:
  npx wscat -c "$WS"
  > {"action":"subscribe","channel":"admin"}

  curl -X POST "$URL/broadcast" -H "Authorization: Bearer $KEY" \\
    -d '{"channel":"admin","event":"admin_event","data":{"hello":"world"}}'

pusher-js and Laravel Echo connect to the Pusher endpoint with these options (the app key is a
project key's prefix, rbk_…, as for Pusher's REST API; docs/pusher.md):
  ${pusherJs}

Ctrl-C stops.
`);
  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping…');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((error: Error) => {
  console.error(`npm start: ${error.message}`);
  process.exit(1);
});
