/**
 * How the handler is bundled, shared by the construct (`lib/broadcast-function.ts`) and the bench's
 * bundle measurement, so the bench measures what is deployed.
 */
export const HANDLER_BUNDLE = {
  /** Relative to the project root. */
  entry: 'lambda/handler.ts',
  target: 'node22',
  // Prefer ES module builds so esbuild can drop unused SDK code.
  mainFields: ['module', 'main'],
  /** Module → replacement, relative to the project root. */
  alias: { '@aws-sdk/credential-provider-node': 'lambda/adapters/env-credentials.ts' },
} as const;
