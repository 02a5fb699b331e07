/**
 * The emulator's TLS identity: a fresh self-signed ECDSA P-256 certificate per start.
 *
 * Why TLS at all: MSAL (behind `@azure/identity`) refuses an authority that is not https, so the token endpoint, and
 * with it the Graph surface on the same origin, must speak TLS. The certificate is its own trust anchor; clients
 * trust it by adding {@link EmulatorCertificate.certificatePem} to their CA list.
 */
// @peculiar/x509 loads tsyringe, which needs the Reflect metadata polyfill before it is imported.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/** PEM-encoded certificate and private key for `https.createServer`. */
export interface EmulatorCertificate {
  certificatePem: string;
  privateKeyPem: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** Generates a self-signed server certificate valid for `127.0.0.1` and `localhost` (real time, not emulator time). */
export async function generateCertificate(): Promise<EmulatorCertificate> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = (serial[0] ?? 0) & 0x7f; // keep the serial number positive (DER INTEGER)
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: 'CN=Graph emulator (local test only)',
    // Backdated an hour so that a client whose clock is slightly behind still accepts it.
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + 30 * DAY_MS),
    signingAlgorithm: algorithm,
    keys: keys as unknown as x509.X509CertificateCreateSelfSignedParams['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        { type: 'dns', value: 'localhost' },
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { certificatePem: certificate.toString('pem'), privateKeyPem };
}
