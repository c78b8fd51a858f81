/**
 * Replaces `@aws-sdk/credential-provider-node` in the Lambda bundle only (an esbuild alias, see
 * `contract/bundle.ts`). On Lambda the execution role's credentials are always in the environment,
 * so the SDK's default chain (SSO, INI files, IMDS, web identity, …) is dead weight: ~90 KB
 * minified and its load time at every cold start. Tests and the local stack keep the real chain.
 */
import { credentialsFromEnv, type AwsCredentials } from './aws-http';

// A promise, as the SDK's providers give: missing variables reject it rather than throw.
export const defaultProvider = () => () => new Promise<AwsCredentials>((resolve) => resolve(credentialsFromEnv()));
