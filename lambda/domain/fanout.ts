/**
 * Delivers one message to many connections with bounded concurrency, starting on the first page
 * of recipients while later pages are still being read.
 */
import pLimit from 'p-limit';
import type { Delivery } from '../ports';

export interface FanoutResult {
  readonly sent: number;
  readonly failed: number;
  /** Connections that answered 410 Gone: closed without a `$disconnect` we saw. */
  readonly gone: readonly string[];
}

export async function fanOut(
  recipients: AsyncIterable<readonly string[]>,
  message: string,
  delivery: Delivery,
  concurrency: number,
): Promise<FanoutResult> {
  const limit = pLimit(concurrency);
  const gone: string[] = [];
  let sent = 0;
  let failed = 0;
  const posts: Promise<void>[] = [];
  for await (const page of recipients) {
    for (const connectionId of page) {
      posts.push(
        limit(async () => {
          const outcome = await delivery.post(connectionId, message);
          if (outcome === 'sent') sent++;
          else if (outcome === 'gone') gone.push(connectionId);
          else failed++;
        }),
      );
    }
  }
  await Promise.all(posts);
  return { sent, failed, gone };
}

/** Iterates a fixed list as one page. */
export async function* onePage(connectionIds: readonly string[]): AsyncIterable<readonly string[]> {
  if (connectionIds.length > 0) yield connectionIds;
}
