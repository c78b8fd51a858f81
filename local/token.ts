/**
 * `npm run token -- <userId> [ttlSeconds]`: prints a signed connect token for a user, signed
 * with BROADCAST_ACCESS_KEY (the master key) or PROJECT_API_KEY (a project's key).
 */
import { signConnectToken } from '../lambda/auth/tokens';

const [userId, ttl = '3600'] = process.argv.slice(2);
const apiKey = process.env.PROJECT_API_KEY || process.env.BROADCAST_ACCESS_KEY;
if (!userId || !apiKey || !/^\d+$/.test(ttl)) {
  console.error('usage: PROJECT_API_KEY=<key> (or BROADCAST_ACCESS_KEY=<key>) npm run token -- <userId> [ttlSeconds]');
  process.exit(2);
}
console.log(signConnectToken({ userId, expiresAt: Math.floor(Date.now() / 1000) + Number(ttl), apiKey }));
