import type { WebhookSender } from '../ports';

/**
 * Webhooks over `fetch` (Node's, in Lambda's runtime): one POST, redirects not followed (a receiver
 * must answer itself; a redirect could point anywhere), the body not read past the status.
 */
export class FetchWebhookSender implements WebhookSender {
  async post(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<number> {
    const response = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    return response.status;
  }
}
