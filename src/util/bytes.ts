/**
 * A Buffer over the same memory as `bytes`, without copying: `bytes` itself when it is a Buffer.
 * Stores and callers may hand any Uint8Array; Buffer's methods (`equals`, `toString('hex')`,
 * `readUInt16BE`) are what the package reads them with.
 */
export function bufferView(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
