import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { DerWriter } from '../session/der.js';

// A self-signed ECDSA P-256 or RSA 2048 certificate for the demo's loopback server, built with node:crypto
// and the project's DER writer. Written by hand (about 60 lines) so that `tls-sessions demo`
// needs neither the openssl CLI nor a certificate library (selfsigned pulls in node-forge and
// makes RSA keys in JavaScript; @peculiar/x509 brings a WebCrypto stack): key generation and
// signing take about a millisecond.

/** Key and certificate, PEM. */
export interface ThrowawayCert {
  key: string;
  cert: string;
}

const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const OID_RSA_SHA256 = '1.2.840.113549.1.1.11';
const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** Key types {@link makeThrowawayCert} makes. */
export type ThrowawayKeyType = 'ecdsa' | 'rsa';

/** A certificate for `localhost` and 127.0.0.1, valid from an hour ago for `days` days. */
export function makeThrowawayCert(
  keyType: ThrowawayKeyType = 'ecdsa',
  commonName = 'tls-sessions demo',
  days = 1,
): ThrowawayCert {
  const { privateKey, publicKey } =
    keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const now = Date.now();
  const name = (w: DerWriter) =>
    w.wrap(0x30, (rdn) =>
      rdn.wrap(0x31, (set) =>
        set.wrap(0x30, (atv) => {
          atv.tlv(0x06, oid(OID_COMMON_NAME));
          atv.tlv(0x0c, Buffer.from(commonName, 'utf8'));
        }),
      ),
    );
  const algorithm = (w: DerWriter) =>
    w.wrap(0x30, (a) => {
      a.tlv(0x06, oid(keyType === 'rsa' ? OID_RSA_SHA256 : OID_ECDSA_SHA256));
      if (keyType === 'rsa') a.tlv(0x05, Buffer.alloc(0)); // NULL parameters
    });

  const tbs = new DerWriter();
  tbs.wrap(0x30, (t) => {
    t.wrap(0xa0, (v) => v.integer(2)); // v3
    const serial = randomBytes(16);
    serial[0]! &= 0x7f; // positive
    t.tlv(0x02, serial);
    algorithm(t);
    name(t);
    t.wrap(0x30, (validity) => {
      validity.tlv(0x17, utcTime(now - 3600_000));
      validity.tlv(0x17, utcTime(now + days * 86400_000));
    });
    name(t);
    t.raw(spki);
    t.wrap(0xa3, (exts) =>
      exts.wrap(0x30, (list) =>
        list.wrap(0x30, (ext) => {
          ext.tlv(0x06, oid(OID_SUBJECT_ALT_NAME));
          const san = new DerWriter();
          san.wrap(0x30, (names) => {
            names.tlv(0x82, Buffer.from('localhost')); // dNSName
            names.tlv(0x87, Buffer.of(127, 0, 0, 1)); // iPAddress
          });
          ext.octets(san.toBuffer());
        }),
      ),
    );
  });
  const tbsDer = tbs.toBuffer();
  const signature = sign('sha256', tbsDer, privateKey);

  const cert = new DerWriter();
  cert.wrap(0x30, (c) => {
    c.raw(tbsDer);
    algorithm(c);
    c.tlv(0x03, Buffer.concat([Buffer.of(0), signature])); // BIT STRING, no unused bits
  });
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: pem('CERTIFICATE', cert.toBuffer()),
  };
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const bytes = [n & 0x7f];
    for (let v = n >>> 7; v > 0; v >>>= 7) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return Buffer.from(out);
}

function utcTime(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-11-22T03:30:00.000Z
  return Buffer.from(
    `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
  );
}

function pem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
