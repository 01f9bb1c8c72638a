// AES-CCM (RFC 3610, NIST SP 800-38C) for the trustees' channel of Belenios 2.0.
//
// WebCrypto has no CCM, and no maintained npm library offers it: `sjcl` (whose `sjcl.mode.ccm`
// Belenios itself uses) has had no maintenance release for years, is CommonJS with a global
// namespace and pulls in Node's `crypto` for its generator. So CCM is composed here, per RFC
// 3610 section 2, from the modes of @noble/ciphers (audited, maintained): the AES block
// cipher is theirs, never ours.
//   - authentication: CBC-MAC = the last block of AES-CBC with a zero IV, no padding, over
//     B0 || encoded associated data || message, each zero-padded to whole blocks;
//   - encryption: AES-CTR started at A0, applied to (T zero-padded to a block) || message, so
//     its first M bytes are U = T xor S0 and the rest is the message xor S1, S2, ...
//     (noble's CTR increments the whole 16-byte block big-endian, which is CCM's counter in
//     the last L bytes as long as the message fits in 2^(8L) bytes, which is checked).
// Checked against Python's `cryptography` AESCCM in tests/test_voting_javascript.py.

import { cbc, ctr } from "@noble/ciphers/aes.js";
import { equalBytes } from "@noble/ciphers/utils.js";

const BLOCK = 16;

function checkParameters(key, nonce, tagLength) {
  if (![16, 24, 32].includes(key.length)) throw new Error("AES-CCM: the key must be 16, 24 or 32 bytes");
  if (nonce.length < 7 || nonce.length > 13) throw new Error("AES-CCM: the nonce must be 7 to 13 bytes");
  if (![4, 6, 8, 10, 12, 14, 16].includes(tagLength)) throw new Error("AES-CCM: the tag must be 4, 6, ..., 16 bytes");
}

function padded(length) {
  return Math.ceil(length / BLOCK) * BLOCK;
}

// The counter block A_i (flags = L - 1, then the nonce, then i on L bytes) for i = 0.
function counterZero(nonce) {
  const block = new Uint8Array(BLOCK);
  block[0] = 15 - nonce.length - 1;
  block.set(nonce, 1);
  return block;
}

function cbcMac(key, nonce, tagLength, aad, message) {
  const L = 15 - nonce.length;
  if (L < 8 && message.length >= 2 ** (8 * L)) throw new Error("AES-CCM: the message is too long for this nonce");
  // l(a) encoded as RFC 3610 section 2.2 says.
  let aadLength = new Uint8Array(0);
  if (aad.length > 0 && aad.length < 0xff00) {
    aadLength = Uint8Array.of(aad.length >>> 8, aad.length & 0xff);
  } else if (aad.length >= 0xff00) {
    aadLength = Uint8Array.of(0xff, 0xfe, (aad.length >>> 24) & 0xff, (aad.length >>> 16) & 0xff, (aad.length >>> 8) & 0xff, aad.length & 0xff);
  }
  const aadPart = aad.length ? padded(aadLength.length + aad.length) : 0;
  const input = new Uint8Array(BLOCK + aadPart + padded(message.length));
  input[0] = (aad.length ? 64 : 0) + 8 * ((tagLength - 2) / 2) + (L - 1);
  input.set(nonce, 1);
  for (let i = 0, length = message.length; i < L; i += 1, length = Math.floor(length / 256)) {
    input[BLOCK - 1 - i] = length % 256;
  }
  if (aad.length) {
    input.set(aadLength, BLOCK);
    input.set(aad, BLOCK + aadLength.length);
  }
  input.set(message, BLOCK + aadPart);
  const chained = cbc(key, new Uint8Array(BLOCK), { disablePadding: true }).encrypt(input);
  return chained.slice(chained.length - BLOCK, chained.length - BLOCK + tagLength);
}

/** AES-CCM encryption: returns ciphertext || tag (as Python's AESCCM.encrypt does). */
export function ccmEncrypt(key, nonce, plaintext, { tagLength = 8, aad = new Uint8Array(0) } = {}) {
  checkParameters(key, nonce, tagLength);
  const tag = cbcMac(key, nonce, tagLength, aad, plaintext);
  const input = new Uint8Array(BLOCK + plaintext.length);
  input.set(tag, 0);
  input.set(plaintext, BLOCK);
  const output = ctr(key, counterZero(nonce)).encrypt(input);
  const sealed = new Uint8Array(plaintext.length + tagLength);
  sealed.set(output.subarray(BLOCK), 0);
  sealed.set(output.subarray(0, tagLength), plaintext.length);
  return sealed;
}

/** AES-CCM decryption of ciphertext || tag; throws when the tag does not match. */
export function ccmDecrypt(key, nonce, sealed, { tagLength = 8, aad = new Uint8Array(0) } = {}) {
  checkParameters(key, nonce, tagLength);
  if (sealed.length < tagLength) throw new Error("AES-CCM: the message is shorter than its tag");
  const length = sealed.length - tagLength;
  const input = new Uint8Array(BLOCK + length);
  input.set(sealed.subarray(length), 0);
  input.set(sealed.subarray(0, length), BLOCK);
  const output = ctr(key, counterZero(nonce)).decrypt(input);
  const plaintext = output.slice(BLOCK);
  const expected = cbcMac(key, nonce, tagLength, aad, plaintext);
  if (!equalBytes(expected, output.subarray(0, tagLength))) {
    throw new Error("AES-CCM: the tag does not match (wrong key, or altered message)");
  }
  return plaintext;
}
