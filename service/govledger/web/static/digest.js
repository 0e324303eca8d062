// Digests of a file picked by the citizen, computed on their device: the document itself never leaves it.
// SHA-256 comes from WebCrypto; SM3 from sm3.js, fed slice by slice so a large scan is not copied whole.

import { Sm3 } from "./sm3.js";

export const ALGORITHMS = ["sha256", "sm3"];
const SLICE_BYTES = 4 * 1024 * 1024;

export class WebCryptoUnavailableError extends Error {}

export function toHex(bytes) {
  let hex = "0x";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

// The 0x-hex digest of a File or Blob under "sha256" or "sm3".
export async function digestFile(file, algorithm) {
  if (algorithm === "sha256") {
    // WebCrypto exists only in secure contexts (HTTPS or localhost); say so rather than fail obscurely.
    if (!globalThis.crypto || !crypto.subtle) throw new WebCryptoUnavailableError("crypto.subtle is unavailable");
    return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", await file.arrayBuffer())));
  }
  if (algorithm === "sm3") {
    const hasher = new Sm3();
    for (let offset = 0; offset < file.size; offset += SLICE_BYTES) {
      hasher.update(new Uint8Array(await file.slice(offset, offset + SLICE_BYTES).arrayBuffer()));
    }
    return toHex(hasher.digest());
  }
  throw new Error(`unknown hash algorithm ${algorithm}`);
}
