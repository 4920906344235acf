#!/usr/bin/env bash
# Regenerates src/session/cipher-names.ts from the local OpenSSL's cipher list.
set -euo pipefail
out=src/session/cipher-names.ts
{
  echo "// OpenSSL cipher names by IANA id, generated from 'openssl ciphers -V' (OpenSSL 3.0) by scripts/gen-ciphers.sh."
  echo "// OpenSSL prints these names in sess_id -text; it cannot load a session whose cipher it does not know."
  echo "export const CIPHER_NAMES: ReadonlyMap<number, string> = new Map(["
  openssl ciphers -V \
    -ciphersuites 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256' \
    'ALL:COMPLEMENTOFALL:@SECLEVEL=0' |
    awk '{split($1,a,","); printf "  [%s%s, %c%s%c],\n", a[1], substr(a[2],3), 39, $3, 39}' | sort -u
  echo "]);"
} > "$out"
npx biome format --write "$out" >/dev/null
