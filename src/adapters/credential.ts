/**
 * The Graph credential, chosen deterministically from settings (reliability E3): never the default chain, whose
 * probing order differs by machine and whose managed-identity probe reaches for a non-loopback address.
 *
 * - a client secret set → ClientSecretCredential (local runs, the emulator, and tenants that use app secrets);
 * - a federated token file set → WorkloadIdentityCredential;
 * - otherwise → ManagedIdentityCredential (user-assigned when a client id is set), the production choice.
 */
import {
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type TokenCredential,
  type TokenCredentialOptions,
} from '@azure/identity';
import tls from 'node:tls';

export interface CredentialSettings {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** `AZURE_AUTHORITY_HOST`: the token issuer's origin (the emulator's, for local runs). */
  authorityHost?: string;
  /** `AZURE_FEDERATED_TOKEN_FILE`, for workload identity. */
  federatedTokenFile?: string;
  /** Extra PEM certificates the token issuer may present (the local emulator's self-signed CA). */
  extraCaPem?: string[];
}

export type CredentialKind = 'clientSecret' | 'workloadIdentity' | 'managedIdentity';

export function credentialKind(settings: CredentialSettings): CredentialKind {
  if (settings.clientSecret) return 'clientSecret';
  if (settings.federatedTokenFile) return 'workloadIdentity';
  return 'managedIdentity';
}

type AdditionalPolicies = NonNullable<TokenCredentialOptions['additionalPolicies']>;
type Policy = AdditionalPolicies[number]['policy'];

/** A pipeline policy that makes the identity client trust extra CAs besides the system roots. */
function trustPolicy(extraCaPem: string[]): Policy {
  const ca = [...tls.rootCertificates, ...extraCaPem];
  return {
    name: 'accessreviewSyncExtraCa',
    sendRequest(request, next) {
      // core-rest-pipeline builds its https agent from tlsSettings; a `ca` there replaces the roots, hence the union.
      request.tlsSettings = { ...request.tlsSettings, ca };
      return next(request);
    },
  };
}

export function createCredential(settings: CredentialSettings): TokenCredential {
  const options: TokenCredentialOptions & { disableInstanceDiscovery?: boolean } = {};
  if (settings.authorityHost) {
    options.authorityHost = settings.authorityHost;
    // A custom authority (sovereign cloud proxy, emulator) has no instance-discovery endpoint to ask.
    if (!/^https:\/\/login\.microsoftonline\.com\/?$/i.test(settings.authorityHost)) options.disableInstanceDiscovery = true;
  }
  if (settings.extraCaPem?.length) options.additionalPolicies = [{ policy: trustPolicy(settings.extraCaPem), position: 'perCall' }];
  switch (credentialKind(settings)) {
    case 'clientSecret':
      return new ClientSecretCredential(settings.tenantId ?? '', settings.clientId ?? '', settings.clientSecret ?? '', options);
    case 'workloadIdentity':
      return new WorkloadIdentityCredential({
        ...options,
        tenantId: settings.tenantId,
        clientId: settings.clientId,
        tokenFilePath: settings.federatedTokenFile,
      });
    case 'managedIdentity':
      return settings.clientId ? new ManagedIdentityCredential({ ...options, clientId: settings.clientId }) : new ManagedIdentityCredential(options);
  }
}
