import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A PEM private key and the certificate chain for it. */
export interface Identity {
  key: Buffer;
  cert: Buffer;
}

/** A test PKI: a CA, server identities for localhost/127.0.0.1 signed by it, a client identity. */
export interface TestPki {
  ca: Buffer;
  server: Identity;
  /** A second server identity (another serial and CN), to test certificate reloads. */
  server2: Identity;
  client: Identity;
  /** A client identity signed by a CA the server does not trust. */
  strangerClient: Identity;
  /** A server identity for foo.test.google.fr (the interop tests' grpc.ssl_target_name_override name). */
  interopServer: Identity;
}

let cached: TestPki | null = null;

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** Generates (once per process) EC P-256 certificates with the openssl CLI, in a temporary directory. */
export function testPki(): TestPki {
  if (cached !== null) return cached;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h2grpc-pki-'));
  try {
    const key = (name: string) => openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
    const selfSigned = (name: string, cn: string) => {
      key(name);
      openssl(
        dir,
        'req',
        '-x509',
        '-new',
        '-key',
        `${name}.key`,
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-subj',
        `/CN=${cn}`,
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      );
    };
    const signed = (name: string, cn: string, ca: string, extensions: string) => {
      key(name);
      openssl(dir, 'req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      fs.writeFileSync(path.join(dir, `${name}.ext`), extensions);
      openssl(
        dir,
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      );
    };
    selfSigned('ca', 'h2grpc test CA');
    selfSigned('stranger-ca', 'stranger CA');
    const serverExtensions = 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n';
    signed('server', 'h2grpc test server', 'ca', serverExtensions);
    signed('server2', 'h2grpc test server 2', 'ca', serverExtensions);
    signed('client', 'h2grpc test client', 'ca', 'extendedKeyUsage=clientAuth\n');
    signed('stranger', 'stranger client', 'stranger-ca', 'extendedKeyUsage=clientAuth\n');
    signed('interop', 'foo.test.google.fr', 'ca', 'subjectAltName=DNS:foo.test.google.fr,DNS:*.test.google.fr\nextendedKeyUsage=serverAuth\n');
    const read = (name: string): Identity => ({ key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.crt`)) });
    cached = {
      ca: fs.readFileSync(path.join(dir, 'ca.crt')),
      server: read('server'),
      server2: read('server2'),
      client: read('client'),
      strangerClient: read('stranger'),
      interopServer: read('interop'),
    };
    return cached;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether the openssl CLI is there to make certificates (specs that need them skip without it). */
export function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The CA and the foo.test.google.fr server identity, or null without openssl. */
export function interopCertificates(): { ca: Buffer; key: Buffer; cert: Buffer } | null {
  if (!hasOpenssl()) return null;
  const pki = testPki();
  return { ca: pki.ca, key: pki.interopServer.key, cert: pki.interopServer.cert };
}
