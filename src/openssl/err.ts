/**
 * OpenSSL's error queue (crypto/err/err.c) with its packed codes and texts.
 *
 * A function that returns 0 or NULL in C returns 0 or `null` here and pushes a code; read it with
 * {@link ERR_get_error} (oldest first) and print it with {@link ERR_error_string}. OpenSSL keeps
 * one queue per thread; JavaScript runs on one thread, so there is one queue per process (per
 * worker). Asynchronous calls push their codes when they settle.
 */
import { constants as osConstants } from 'node:os';
import { PROV_REASON_TABLE } from './prov-reasons.js';
import { SSL_REASON_TABLE } from './ssl-reasons.js';

export const ERR_LIB_NONE = 1;
export const ERR_LIB_SYS = 2;
export const ERR_LIB_PEM = 9;
export const ERR_LIB_ASN1 = 13;
export const ERR_LIB_SSL = 20;
export const ERR_LIB_PROV = 57;

const ERR_LIB_OFFSET = 23;
const ERR_LIB_MASK = 0xff;
const ERR_REASON_MASK = 0x7fffff;
const ERR_SYSTEM_FLAG = 0x80000000;
const ERR_SYSTEM_MASK = 0x7fffffff;
const ERR_RFLAG_FATAL = 0x1 << 18;
const ERR_RFLAG_COMMON = 0x2 << 18;
/** ERR_NUM_ERRORS: the queue keeps the 16 newest entries. */
const ERR_NUM_ERRORS = 16;

// Common reasons (ERR_R_*), usable with any library.
export const ERR_R_PASSED_NULL_PARAMETER = 258 | ERR_RFLAG_FATAL | ERR_RFLAG_COMMON;
export const ERR_R_INTERNAL_ERROR = 259 | ERR_RFLAG_FATAL | ERR_RFLAG_COMMON;
export const ERR_R_PASSED_INVALID_ARGUMENT = 262 | ERR_RFLAG_COMMON;
export const ERR_R_UNSUPPORTED = 268 | ERR_RFLAG_COMMON;

// ASN.1 reasons (asn1err.h) that d2i_SSL_SESSION reports.
export const ASN1_R_FIELD_MISSING = 121;
export const ASN1_R_INTEGER_TOO_LARGE_FOR_LONG = 128;
export const ASN1_R_NOT_ENOUGH_DATA = 142;
export const ASN1_R_TOO_LONG = 155;
export const ASN1_R_WRONG_TAG = 168;

// PEM reasons (pemerr.h).
export const PEM_R_BAD_BASE64_DECODE = 100;
export const PEM_R_NO_START_LINE = 108;

const COMMON_REASONS = new Map<number, string>([
  [ERR_R_PASSED_NULL_PARAMETER, 'passed a null parameter'],
  [ERR_R_INTERNAL_ERROR, 'internal error'],
  [ERR_R_PASSED_INVALID_ARGUMENT, 'passed invalid argument'],
  [ERR_R_UNSUPPORTED, 'unsupported'],
]);

const LIB_REASONS = new Map<number, Map<number, string>>([
  [ERR_LIB_SSL, new Map(SSL_REASON_TABLE.map(([, code, text]) => [code, text]))],
  [ERR_LIB_PROV, new Map(PROV_REASON_TABLE.map(([, code, text]) => [code, text]))],
  [
    ERR_LIB_ASN1,
    new Map([
      [ASN1_R_FIELD_MISSING, 'field missing'],
      [ASN1_R_INTEGER_TOO_LARGE_FOR_LONG, 'integer too large for long'],
      [ASN1_R_NOT_ENOUGH_DATA, 'not enough data'],
      [ASN1_R_TOO_LONG, 'too long'],
      [ASN1_R_WRONG_TAG, 'wrong tag'],
    ]),
  ],
  [
    ERR_LIB_PEM,
    new Map([
      [PEM_R_BAD_BASE64_DECODE, 'bad base64 decode'],
      [PEM_R_NO_START_LINE, 'no start line'],
    ]),
  ],
]);

const LIB_NAMES = new Map<number, string>([
  [ERR_LIB_NONE, 'unknown library'],
  [ERR_LIB_SYS, 'system library'],
  [ERR_LIB_PEM, 'PEM routines'],
  [ERR_LIB_ASN1, 'asn1 encoding routines'],
  [ERR_LIB_SSL, 'SSL routines'],
  [ERR_LIB_PROV, 'Provider routines'],
]);

/** Texts of system errors by errno, as strerror prints the common socket ones (glibc). */
const SYSTEM_TEXTS: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ETIMEDOUT: 'Connection timed out',
  EPIPE: 'Broken pipe',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  EADDRINUSE: 'Address already in use',
  EADDRNOTAVAIL: 'Cannot assign requested address',
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
};

/** One queued error: its packed code and OpenSSL's optional data text (never a secret). */
export interface ErrEntry {
  code: number;
  data: string;
}

const queue: ErrEntry[] = [];

/** ERR_PACK: library and reason (with its flags) in one code. */
export function ERR_PACK(lib: number, reason: number): number {
  return (((lib & ERR_LIB_MASK) << ERR_LIB_OFFSET) | (reason & ERR_REASON_MASK)) >>> 0;
}

/** The library of a packed code; system errors belong to ERR_LIB_SYS. */
export function ERR_GET_LIB(code: number): number {
  if ((code & ERR_SYSTEM_FLAG) !== 0) return ERR_LIB_SYS;
  return (code >>> ERR_LIB_OFFSET) & ERR_LIB_MASK;
}

/** The reason of a packed code (errno for system errors). */
export function ERR_GET_REASON(code: number): number {
  if ((code & ERR_SYSTEM_FLAG) !== 0) return code & ERR_SYSTEM_MASK;
  return code & ERR_REASON_MASK;
}

/** Pushes an error (ERR_raise / ERR_raise_data). */
export function ERR_raise(lib: number, reason: number, data = ''): void {
  push({ code: ERR_PACK(lib, reason), data });
}

/** Pushes a system error for errno `errno` (what OpenSSL does when a socket call fails). */
export function raiseSystemError(errno: number, data = ''): void {
  push({ code: (ERR_SYSTEM_FLAG | (errno & ERR_SYSTEM_MASK)) >>> 0, data });
}

/** The errno of a Node error code such as 'ECONNREFUSED', or 0. */
export function errnoOf(code: string | undefined): number {
  if (code === undefined) return 0;
  const value = (osConstants.errno as Record<string, number | undefined>)[code];
  return value ?? 0;
}

function push(entry: ErrEntry): void {
  queue.push(entry);
  if (queue.length > ERR_NUM_ERRORS) queue.shift();
}

/** Removes and returns the oldest code, or 0 when the queue is empty. */
export function ERR_get_error(): number {
  return queue.shift()?.code ?? 0;
}

/** Removes and returns the oldest entry with its data text, or `null` (ERR_get_error_all). */
export function ERR_get_error_all(): ErrEntry | null {
  return queue.shift() ?? null;
}

/** The oldest code, left in the queue; 0 when empty. */
export function ERR_peek_error(): number {
  return queue[0]?.code ?? 0;
}

/** The newest code, left in the queue; 0 when empty. */
export function ERR_peek_last_error(): number {
  return queue.at(-1)?.code ?? 0;
}

/** Empties the queue. */
export function ERR_clear_error(): void {
  queue.length = 0;
}

/** The library's name, e.g. 'SSL routines', or `null` when unknown. */
export function ERR_lib_error_string(code: number): string | null {
  return LIB_NAMES.get(ERR_GET_LIB(code)) ?? null;
}

/** The reason's text, e.g. 'session id context uninitialized', or `null` when unknown. */
export function ERR_reason_error_string(code: number): string | null {
  if ((code & ERR_SYSTEM_FLAG) !== 0) return systemText(code & ERR_SYSTEM_MASK);
  const reason = code & ERR_REASON_MASK;
  if ((reason & ERR_RFLAG_COMMON) !== 0) return COMMON_REASONS.get(reason) ?? null;
  return LIB_REASONS.get(ERR_GET_LIB(code))?.get(reason) ?? null;
}

/**
 * OpenSSL 3's text of a code: `error:<code in hex>:<library>::<reason>`, the function name being
 * empty since 3.0 (e.g. `error:0A000115:SSL routines::session id context uninitialized`).
 */
export function ERR_error_string(code: number): string {
  const lib = ERR_GET_LIB(code);
  const libText = ERR_lib_error_string(code) ?? `lib(${lib})`;
  const reasonText = ERR_reason_error_string(code) ?? `reason(${ERR_GET_REASON(code)})`;
  return `error:${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}:${libText}::${reasonText}`;
}

/** Calls `cb` with one line per queued error, oldest first, and empties the queue (ERR_print_errors_cb). */
export function ERR_print_errors_cb(cb: (line: string) => void): void {
  let entry = ERR_get_error_all();
  while (entry !== null) {
    cb(entry.data === '' ? ERR_error_string(entry.code) : `${ERR_error_string(entry.code)}:${entry.data}`);
    entry = ERR_get_error_all();
  }
}

/** The SSL reason of its OpenSSL name ('ATTEMPT_TO_REUSE_SESSION_IN_DIFFERENT_CONTEXT') or text; 0 when unknown. */
export function sslReasonOf(nameOrText: string): number {
  return SSL_REASONS_BY_KEY.get(nameOrText) ?? 0;
}

const SSL_REASONS_BY_KEY = new Map<string, number>();
for (const [name, code, text] of SSL_REASON_TABLE) {
  SSL_REASONS_BY_KEY.set(name, code);
  SSL_REASONS_BY_KEY.set(text, code);
}

function systemText(errno: number): string {
  const name = Object.entries(osConstants.errno).find(([, n]) => n === errno)?.[0];
  return (name !== undefined ? SYSTEM_TEXTS[name] : undefined) ?? name ?? `errno ${errno}`;
}
