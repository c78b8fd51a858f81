/** The hot path's SigV4 signer, held equal to @smithy/signature-v4 (the SDK's own) on the same inputs. */
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import fc from 'fast-check';
import { RequestSigner } from '../../../lambda/adapters/sigv4';
import { Sha256 } from '../../helpers/aws-json-stand-in';

const NOW = Date.parse('2026-11-22T22:31:44.123Z');
const HOST = 'abc123.execute-api.eu-west-1.amazonaws.com';

async function both(method: string, path: string, body: string, sessionToken?: string) {
  const credentials = {
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    ...(sessionToken && { sessionToken }),
  };
  const bodyHash = createHash('sha256').update(body).digest('hex');
  const headers = { host: HOST, 'content-type': 'application/json' };
  const ours = new RequestSigner({ service: 'execute-api', region: 'eu-west-1', credentials, headers }).sign(method, path, bodyHash, NOW);
  const reference = await new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: Sha256 }).sign(
    { method, protocol: 'https:', hostname: HOST, path, query: {}, headers: { ...headers, 'x-amz-content-sha256': bodyHash }, body },
    { signingDate: new Date(NOW) },
  );
  const signed: Record<string, string> = { ...headers, ...ours };
  return { ours: signed, reference: reference.headers };
}

describe('RequestSigner', () => {
  it('signs a post to @connections exactly as the SDK’s signer does', async () => {
    const { ours, reference } = await both('POST', '/production/@connections/L0SM9cOFvHcCIhw%3D', '{"hello":"world"}');
    expect(ours).toEqual(reference);
    expect(ours.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261122\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  it('signs the session token too, and a DELETE', async () => {
    const { ours, reference } = await both('DELETE', '/live/@connections/a%2Bb%2Fc%3D', '', 'FwoGZXIvYXdzEXAMPLE//token=');
    expect(ours).toEqual(reference);
    expect(ours['x-amz-security-token']).toBe('FwoGZXIvYXdzEXAMPLE//token=');
  });

  it('agrees with the SDK’s signer for any connection id (base64 characters, as API Gateway makes them) and body', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9+/=]{1,40}$/), fc.string({ maxLength: 200 }), async (id, body) => {
        const { ours, reference } = await both('POST', `/production/@connections/${encodeURIComponent(id)}`, body);
        expect(ours).toEqual(reference);
      }),
      { numRuns: 200 },
    );
  });
});
