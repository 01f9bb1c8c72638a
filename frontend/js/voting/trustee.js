// The trustee's side of Belenios 2.0, in the browser: the threshold key generation's steps
// 1, 3 and 5 (specification §4.6; threshold.py), recovering the decryption key at tally
// time, and the partial decryption of the encrypted tally (§4.18; tally.py). The
// administrator's steps 2, 4 and 6 run on the server (ecitizen_verify.threshold).
//
// The seed never leaves the trustee's device: every key is derived from it, and everything
// meant for one trustee goes through the administrator encrypted to them (ElGamal, then
// AES-256-CCM with a 13-byte nonce and an 8-byte tag: see ccm.js) and signed by its sender.
//
// Exported:
//   newSeed() -> string (22 Base58 characters; the trustee's secret)
//   keysFromSeed(seed) -> {signing, verification, decryption, encryption} (BigInt)
//   step1Certificate(seed) -> string (the cert, canonical JSON)
//   step3Polynomial(seed, certificates: string[], threshold) -> string
//   step5Voutput(seed, certificates: string[], vinput: string) -> string
//   decryptionKey(seed, encryptedKey: string, certificates: string[]) -> BigInt (S_j mod q)
//   partialDecryption(electionRaw, tallyJsonString, privateKey: BigInt) -> string
//   encryptFor(encryptionKey, message) / decryptWith(decryptionKey, encrypted): the channel

import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { ccmDecrypt, ccmEncrypt } from "./ccm.js";
import {
  GROUP,
  Invalid,
  certificateKeys,
  decryptionProve,
  divide,
  dumps,
  gPower,
  keyFromPrivate,
  loads,
  mod,
  multiply,
  parseElection,
  parseTally,
  powMod,
  proofJson,
  randomBase58,
  randomExponent,
  sign,
  verifySigned,
} from "./protocol.js";

const SEED_LENGTH = 22;
const { q: Q } = GROUP;

/** A trustee's secret: 22 Base58 characters (the tool's `.key` file holds it). */
export function newSeed() {
  return randomBase58(SEED_LENGTH);
}

function derive(prefix, seed) {
  return BigInt(`0x${bytesToHex(sha256(utf8ToBytes(`${prefix}|${seed}`)))}`) % Q;
}

/** The four keys a seed gives (§4.6.1): sk, g^sk, dk, g^dk. */
export function keysFromSeed(seed) {
  const signing = derive("sk", seed);
  const decryption = derive("dk", seed);
  return { signing, verification: gPower(signing), decryption, encryption: gPower(decryption) };
}

function aesParameters(shared, alpha) {
  const key = sha256(utf8ToBytes(`key|${shared}`));
  const nonce = sha256(utf8ToBytes(`iv|${alpha}`)).slice(0, 13);
  return [key, nonce];
}

/** An encrypted_msg for the holder of `encryptionKey` (BigInt), serialised. */
export function encryptFor(encryptionKey, message) {
  const r = randomExponent();
  const s = randomExponent();
  const alpha = gPower(r);
  const shared = gPower(s);
  const beta = multiply(powMod(encryptionKey, r), shared);
  const [key, nonce] = aesParameters(shared, alpha);
  const data = bytesToHex(ccmEncrypt(key, nonce, utf8ToBytes(message), { tagLength: 8 }));
  return dumps({ alpha: alpha.toString(), beta: beta.toString(), data });
}

/** The message of an encrypted_msg; throws Invalid if it was not for this key. */
export function decryptWith(decryptionKey, encrypted) {
  let alpha;
  let beta;
  let data;
  try {
    const value = JSON.parse(encrypted);
    alpha = BigInt(value.alpha);
    beta = BigInt(value.beta);
    if (typeof value.data !== "string" || value.data.length % 2) throw new Error("odd");
    data = hexToBytes(value.data);
  } catch {
    throw new Invalid("the encrypted message is unreadable");
  }
  const shared = divide(beta, powMod(alpha, decryptionKey));
  const [key, nonce] = aesParameters(shared, alpha);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(ccmDecrypt(key, nonce, data, { tagLength: 8 }));
  } catch {
    throw new Invalid("the encrypted message was not meant for this key, or was altered");
  }
}

/** send(sk, recipient, M) (§4.6.3): a channel message, signed, then encrypted. */
function send(keys, recipient, message) {
  const channel = dumps({ recipient: recipient.toString(), message });
  return encryptFor(recipient, dumps(sign(keys.signing, channel)));
}

/** Open a message sent to us: decrypt, check the sender's signature and that we are the recipient. */
function receive(keys, senderVerification, encrypted) {
  const signed = loads(decryptWith(keys.decryption, encrypted), "a trustee message");
  const channel = loads(verifySigned(senderVerification, signed, "a trustee message"), "a trustee message");
  if (channel === null || typeof channel !== "object" || channel.recipient !== keys.encryption.toString()) {
    throw new Invalid("a trustee message was addressed to someone else");
  }
  return String(channel.message);
}

/** Step 1: the certificate of the keys derived from the seed. */
export function step1Certificate(seed) {
  const keys = keysFromSeed(seed);
  const message = dumps({ verification: keys.verification.toString(), encryption: keys.encryption.toString() });
  return dumps(sign(keys.signing, message));
}

function checkCertificates(certificates) {
  if (!Array.isArray(certificates)) throw new Invalid("the certificates must be a list");
  const keys = certificates.map((c, i) => certificateKeys(loads(c, `certificate ${i + 1}`), `certificate ${i + 1}`));
  const seen = new Set(keys.map(([v, e]) => `${v},${e}`));
  if (seen.size !== keys.length) throw new Invalid("two trustees sent the same certificate");
  return keys;
}

function myPosition(seed, certificates) {
  const keys = keysFromSeed(seed);
  const all = checkCertificates(certificates);
  const position = all.findIndex(([verification]) => verification === keys.verification);
  if (position < 0) throw new Invalid("this key file is not one of this election's trustees");
  return [keys, position, all];
}

/**
 * Step 3: a random polynomial of degree threshold - 1, its value for each trustee encrypted
 * to them, and the signed commitments g^a_k to its coefficients.
 */
export function step3Polynomial(seed, certificates, threshold) {
  const [keys, , recipients] = myPosition(seed, certificates);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > recipients.length) {
    throw new Invalid("the threshold must be between 1 and the number of trustees");
  }
  const coefficients = Array.from({ length: threshold }, () => randomExponent());
  const secrets = recipients.map(([, encryption], i) => {
    const j = BigInt(i + 1);
    const value = coefficients.reduce((total, a, k) => total + a * j ** BigInt(k), 0n) % Q;
    return send(keys, encryption, dumps({ secret: value.toString() }));
  });
  const rawPolynomial = dumps({ polynomial: coefficients.map(String) });
  const coefexps = dumps({ coefexps: coefficients.map((a) => gPower(a).toString()) });
  return dumps({
    polynomial: send(keys, keys.encryption, rawPolynomial),
    secrets,
    coefexps: sign(keys.signing, coefexps),
  });
}

/**
 * Step 5: check what every trustee sent us against their signed commitments, then give the
 * administrator our decryption key S_j (encrypted to ourselves) and its public key.
 */
export function step5Voutput(seed, certificates, vinput) {
  const [keys, position, all] = myPosition(seed, certificates);
  const j = BigInt(position + 1);
  const value = loads(vinput, "the vinput");
  if (
    value === null ||
    typeof value !== "object" ||
    !Array.isArray(value.secrets) ||
    !Array.isArray(value.coefexps) ||
    value.secrets.length !== all.length ||
    value.coefexps.length !== all.length
  ) {
    throw new Invalid("the vinput must hold a value and commitments from every trustee");
  }
  let total = 0n;
  all.forEach(([verification], i) => {
    const secretMessage = loads(receive(keys, verification, value.secrets[i]), "a trustee message");
    const secret = BigInt(secretMessage.secret);
    const commitments = loads(verifySigned(verification, value.coefexps[i], "coefficients"), "coefficients");
    const expected = multiply(...commitments.coefexps.map((a, k) => powMod(BigInt(a), j ** BigInt(k))));
    if (gPower(secret) !== expected) {
      throw new Invalid(`trustee ${i + 1} sent a value that does not match their commitments`);
    }
    total += secret;
  });
  // S_j = Σ s_ij, not reduced mod q, as the tool stores it.
  const privateKey = send(keys, keys.encryption, dumps({ decryption_key: total.toString() }));
  return dumps({ private_key: privateKey, public_key: keyFromPrivate(total) });
}

/** The trustee's S_j from their seed and the `.dkey` message (step 6's output), mod q. */
export function decryptionKey(seed, encryptedKey, certificates) {
  const [keys] = myPosition(seed, certificates);
  const value = loads(receive(keys, keys.verification, encryptedKey), "the decryption key");
  return mod(BigInt(value.decryption_key), Q);
}

/**
 * A trustee's partial decryption of the encrypted tally (its JSON text): the factors
 * alpha^x with their proofs, bound to the election's fingerprint, as canonical JSON.
 * Every tally ciphertext is checked to be made of group elements first.
 */
export function partialDecryption(electionRaw, tallyJsonString, privateKey) {
  const election = parseElection(electionRaw);
  const tally = parseTally(election, loads(tallyJsonString, "the encrypted tally"));
  const x = mod(BigInt(privateKey), Q);
  const publicKey = gPower(x);
  const factors = [];
  const proofs = [];
  for (const row of tally) {
    factors.push(row.map(([alpha]) => powMod(alpha, x).toString()));
    proofs.push(row.map(([alpha]) => proofJson(decryptionProve(election.fingerprint, x, publicKey, alpha))));
  }
  return dumps({ decryption_factors: factors, decryption_proofs: proofs });
}
