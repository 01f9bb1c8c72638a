// The Belenios 2.0 voting protocol in the browser: the same messages, byte for byte, as the
// Python package src/ecitizen_verify/ (which belenios-tool 2.0 verifies). Every function
// here mirrors one there; its docstrings and docs/adr/0020-belenios-compatible-voting.md
// say why each detail is as it is. The Python package is the reference: where this file
// and it disagree, this file is wrong.
//
// Numbers: group elements and exponents are BigInt inside, base-10 strings in messages.
// Hashes come from @noble/hashes, modular inverses from bigint-mod-arith, randomness from
// crypto.getRandomValues; modular exponentiation is written here, over native BigInt, with
// tables for the bases that recur (see "Exponentiation" below). Works in browsers (also in
// a Web Worker) and in Node 20.
//
// Exported (see each function's comment):
//   GROUP, Invalid, BASE58
//   group: powMod, gPower, multiply, divide, isElement, randomExponent, hashToExponent
//   serialisation: dumps, loads, fingerprint, sha256Hex, toBytes, sameBytes, pyRepr,
//     number, members, array (the form checks every parser uses)
//   credentials: newCredential, normaliseCredential, secretExponent, publicCredential, newUuid
//   elections and ballots: parseElection, makeBallot, checkBallot, reencryptMatches
//   proofs and keys: parseProof, parseElement, parseCiphertext, proveKnowledge,
//     verifyKnowledge, pokPrefix, sign, verifySigned, keyFromPrivate, parseTrusteeKey,
//     certificateKeys, parseTrustees, owners
//   tallies: parseTally, decryptionProve, decryptionVerify
//   helpers for trustee.js and verify.js: ciphertextJson, proofJson, product, mod,
//     randomBytes, randomBase58

import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { modInv, modPow } from "bigint-mod-arith";

/** Anything that does not verify. The message says what, as the Python package's does. */
export class Invalid extends Error {
  constructor(message) {
    super(message);
    this.name = "Invalid";
  }
}

// --- The group BELENIOS-2048 (specification §5.1; group.py) ------------------------------

export const GROUP = Object.freeze({
  name: "BELENIOS-2048",
  p: BigInt(
    "20694785691422546401013643657505008064922989295751104097100884787057374219242717" +
      "40192223725449768433812906663313807895840496005438963628979639303877390572280360" +
      "59737494276713767776188985898727358650490811670993105358677809800307904916540637" +
      "77173764198678527273474476341835600035698305193144284561701911000786737307333564" +
      "12397173289791324047457883446826065232797464795113767265869358218004631792207366" +
      "88600526271863633860887968821207694323661494910029234443463732221458841005864210" +
      "50242120365433561201320481118852408731077014151666200162313177169372189248078507" +
      "711827842317498073276598828825169183103125680162072880719",
  ),
  q: BigInt("78571733251071885079927659812671450121821421258408794611510081919805623223441"),
  g: BigInt(
    "24023526775018522092276877035323999327122876573783649165100753187876632741463532" +
      "19320285676155269678799694668298749389095083896573425601900601068477164491735474" +
      "13728310461045868131451178164675540052740288984613986453266121505579709716201616" +
      "82703128864324566638348636357821061549184199825343151897406581868686511513585764" +
      "10138882215396016043228843603930989333662772848406593138406010231675095763777982" +
      "66510360682240663507669776402534625377308513317349519424896775405257365904949247" +
      "76314759915751987751777114814909204566002054781270547282381409725186398583341157" +
      "00568353695553423781475582491896050296680037745308460627",
  ),
});
const { p: P, q: Q, g: G } = GROUP;

/** a mod m, never negative (BigInt's % keeps the dividend's sign). */
function mod(a, m) {
  const r = a % m;
  return r < 0n ? r + m : r;
}

// --- Exponentiation ---------------------------------------------------------------------------
//
// Every power is the same number bigint-mod-arith's modPow gives; it takes fewer
// multiplications mod p (each a BigInt product and remainder, the cost of everything here).
// The protocol's exponents are all below q < 2^256; how a power is taken depends on its base:
//  - fixed bases, g and each parsed election's public key y (group.py's `precompute`): a
//    table of base^(d·2^(w·j)) for every w-bit digit d and position j, so that base^e
//    costs one multiplication per non-zero digit of e. The table starts with 4-bit digits
//    (64 rows of 16, ~1,000 multiplications to build, the cost of three powers) and is
//    rebuilt with 8-bit digits (32 rows of 256, ~8,200 multiplications and 2 MB, as
//    group.py's) once the base has been raised 256 times: a voter's one ballot pays little,
//    and a verifier checking thousands pays 32 multiplications a power.
//  - bases raised several times (a ciphertext's alpha and beta: their membership check,
//    then a challenge in each proof that mentions them; a ballot's credential; a tally's
//    alphas for each trustee): base^(16^j) for j < 64 is kept for the last 128 bases
//    raised to an exponent of 128 bits or more (252 squarings, once), after which base^e
//    costs one multiplication per non-zero hexadecimal digit of e plus at most 15 (Yao's
//    method): ~75 instead of ~315. A base raised only once costs about what a sliding
//    window would. The sum of a question's ciphertexts gets its powers from theirs.
//  - anything else (exponents of 2^256 or more, negative ones, another modulus): a
//    left-to-right sliding window of up to 5 bits; bigint-mod-arith's modPow for negative
//    exponents and moduli below 2, and for numbers that are not BigInt.

const SMALL = 1n << 256n; // above every exponent the protocol uses (they are below q)
const FIXED_KEPT = 3; // election keys with a table (besides g's, kept for good)
const UPGRADE_AFTER = 256; // powers after which a 4-bit table is rebuilt with 8-bit digits
const LADDERS_KEPT = 128;
const LADDER_FROM = 1n << 128n; // a smaller exponent is cheaper with a sliding window

/** base^(d·2^(bits·j)) for every digit d < 2^bits and position j < 256 / bits. */
class FixedBase {
  constructor(base) {
    this.uses = 0;
    this.build(base, 4);
  }

  build(base, bits) {
    const size = 1 << bits;
    const count = 256 / bits;
    const rows = [];
    let current = base;
    for (let j = 0; j < count; j += 1) {
      const row = [1n, current];
      for (let d = 2; d < size; d += 1) row.push((row[d - 1] * current) % P);
      rows.push(row);
      if (j + 1 < count) current = (row[size - 1] * current) % P;
    }
    this.rows = rows;
    this.bits = bits;
    this.mask = BigInt(size - 1);
    this.shift = BigInt(bits);
  }

  /** base^exponent mod p, for 0 <= exponent < 2^256. */
  power(exponent) {
    this.uses += 1;
    if (this.bits < 8 && this.uses > UPGRADE_AFTER) this.build(this.rows[0][1], 8);
    const { rows, mask, shift } = this;
    let result = 1n;
    let rest = exponent;
    for (let j = 0; rest !== 0n; j += 1) {
      const digit = Number(rest & mask);
      if (digit) result = result === 1n ? rows[j][digit] : (result * rows[j][digit]) % P;
      rest >>= shift;
    }
    return result;
  }
}

let gTable = null; // built at g's first power
const fixedTables = new Map(); // election key -> FixedBase, least recently parsed first
const ladders = new Map(); // base -> [base^(16^j) for j < 64], least recently added first

/** Keep a table for `base` (an election's public key, a group element): see above. */
function precompute(base) {
  const table = fixedTables.get(base);
  fixedTables.delete(base);
  fixedTables.set(base, table ?? new FixedBase(base));
  ladders.delete(base);
  while (fixedTables.size > FIXED_KEPT) fixedTables.delete(fixedTables.keys().next().value);
}

function newLadder(base) {
  const powers = [base];
  let x = base;
  for (let j = 1; j < 64; j += 1) {
    x = (x * x) % P;
    x = (x * x) % P;
    x = (x * x) % P;
    x = (x * x) % P;
    powers.push(x);
  }
  ladders.set(base, powers);
  if (ladders.size > LADDERS_KEPT) ladders.delete(ladders.keys().next().value);
  return powers;
}

// The kept powers of a product of at most four bases that have theirs: (x·z)^(16^j) is
// x^(16^j)·z^(16^j), 64 multiplications per factor after the first instead of 252
// squarings. For the sums of a question's ciphertexts, which its overall proofs raise.
function keepProductPowers(product, factors) {
  if (factors.length < 2 || factors.length > 4 || ladders.has(product)) return;
  const kept = factors.map((factor) => ladders.get(factor));
  if (kept.includes(undefined) || product === G || fixedTables.has(product)) return;
  const powers = kept[0].map((first, j) => kept.slice(1).reduce((total, other) => (total * other[j]) % P, first));
  ladders.set(product, powers);
  if (ladders.size > LADDERS_KEPT) ladders.delete(ladders.keys().next().value);
}

// Yao's method: with x_j = base^(16^j) and e's hexadecimal digits e_j, the product over
// d = 15 … 1 of (the product of the x_j whose digit is at least d) is the product of x_j^e_j.
function ladderPower(powers, exponent) {
  const hex = exponent.toString(16);
  const byDigit = Array.from({ length: 16 }, () => []);
  for (let j = 0; j < hex.length; j += 1) byDigit[parseInt(hex[hex.length - 1 - j], 16)].push(j);
  let running = 1n;
  let result = 1n;
  for (let digit = 15; digit > 0; digit -= 1) {
    for (const j of byDigit[digit]) running = running === 1n ? powers[j] : (running * powers[j]) % P;
    if (running !== 1n) result = result === 1n ? running : (result * running) % P;
  }
  return result;
}

// Left-to-right sliding window: base^exponent mod modulus for 0 <= base < modulus and an
// exponent > 0, with the odd powers base^1, base^3, … base^(2^w - 1) computed first.
function slidingPower(base, exponent, modulus) {
  const bits = exponent.toString(2);
  const n = bits.length;
  const w = n <= 8 ? 1 : n <= 24 ? 2 : n <= 80 ? 3 : n <= 240 ? 4 : 5;
  const odd = [base];
  if (w > 1) {
    const square = (base * base) % modulus;
    for (let i = 1; i < 1 << (w - 1); i += 1) odd.push((odd[i - 1] * square) % modulus);
  }
  let result = 1n;
  let i = 0;
  while (i < n) {
    if (bits[i] === "0") {
      result = (result * result) % modulus;
      i += 1;
    } else {
      let end = Math.min(i + w, n);
      while (bits[end - 1] === "0") end -= 1;
      if (result !== 1n) for (let k = i; k < end; k += 1) result = (result * result) % modulus;
      const factor = odd[parseInt(bits.slice(i, end), 2) >> 1];
      result = result === 1n ? factor : (result * factor) % modulus;
      i = end;
    }
  }
  return result;
}

/** base^exponent mod p (or mod `modulus`). */
export function powMod(base, exponent, modulus = P) {
  if (typeof base !== "bigint" || typeof exponent !== "bigint" || typeof modulus !== "bigint") {
    return modPow(base, exponent, modulus);
  }
  if (exponent < 0n || modulus < 2n) return modPow(base, exponent, modulus);
  if (modulus === P && exponent < SMALL && base >= 1n && base < P) {
    if (base === G) {
      if (gTable === null) gTable = new FixedBase(G);
      return gTable.power(exponent);
    }
    const table = fixedTables.get(base);
    if (table !== undefined) return table.power(exponent);
    const powers = ladders.get(base);
    if (powers !== undefined) return ladderPower(powers, exponent);
    if (exponent >= LADDER_FROM) return ladderPower(newLadder(base), exponent);
  }
  if (exponent === 0n) return 1n;
  return slidingPower(mod(base, modulus), exponent, modulus);
}

/** g^exponent mod p. */
export function gPower(exponent) {
  return powMod(G, exponent);
}

/** The product of the factors mod p. */
export function multiply(...factors) {
  let product = 1n;
  for (const factor of factors) product = (product * factor) % P;
  return product;
}

/** a / b in the group. */
export function divide(a, b) {
  return (a * modInv(b, P)) % P;
}

/** True when x is in the order-q subgroup (1 <= x < p and x^q = 1 mod p). */
export function isElement(x) {
  return typeof x === "bigint" && x >= 1n && x < P && powMod(x, Q) === 1n;
}

function randomBytes(count) {
  const bytes = new Uint8Array(count);
  globalThis.crypto.getRandomValues(bytes);
  return bytes;
}

/** A uniformly random number modulo q: 256 random bits, drawn again while >= q. */
export function randomExponent() {
  for (;;) {
    const candidate = BigInt(`0x${bytesToHex(randomBytes(32))}`);
    if (candidate < Q) return candidate;
  }
}

/** SHA-256 of the UTF-8 text as a big-endian number, reduced mod q (every challenge). */
export function hashToExponent(text) {
  return BigInt(`0x${bytesToHex(sha256(utf8ToBytes(text)))}`) % Q;
}

// --- Serialisation (serial.py) --------------------------------------------------------------

export const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const DECIMAL = /^(0|[1-9][0-9]*)$/;
const INDEX_KEY = /^(0|[1-9][0-9]*)$/;

/** Bytes of a string (UTF-8) or of a Uint8Array / ArrayBuffer as is. */
export function toBytes(data) {
  if (typeof data === "string") return utf8ToBytes(data);
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError("expected a string or bytes");
}

function toText(data, what) {
  if (typeof data === "string") return data;
  const bytes = toBytes(data);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (error) {
    throw new Invalid(`${what} is not valid JSON (it is not UTF-8: ${error.message})`);
  }
}

function has(object, name) {
  return Object.prototype.hasOwnProperty.call(object, name);
}

/**
 * Compact JSON exactly as Python's json.dumps(separators=(",", ":"), ensure_ascii=False):
 * members in the order the objects hold them. Refuses what Python would write differently
 * or JavaScript would reorder (BigInt, non-finite numbers, undefined, index-like keys).
 */
export function dumps(value) {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError("dumps: a number must be finite");
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(dumps).join(",")}]`;
  if (typeof value === "object") {
    const parts = [];
    for (const key of Object.keys(value)) {
      if (INDEX_KEY.test(key)) throw new TypeError(`dumps: member ${key} would be reordered`);
      parts.push(`${JSON.stringify(key)}:${dumps(value[key])}`);
    }
    return `{${parts.join(",")}}`;
  }
  throw new TypeError(`dumps: cannot write a ${typeof value}`);
}

/** Parse JSON text or bytes, raising Invalid naming `what` on anything that is not JSON. */
export function loads(data, what) {
  let text = toText(data, what);
  // Python's json.loads skips a UTF-8 byte-order mark in bytes (not in text); so do we.
  if (typeof data !== "string" && text.startsWith("\ufeff")) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Invalid(`${what} is not valid JSON (${error.message})`);
  }
}

function base64(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** HJSON: SHA-256, standard Base64 without padding (election fingerprint, ballot tracker). */
export function fingerprint(data) {
  return base64(sha256(toBytes(data))).replace(/=+$/, "");
}

/** SHA-256 in lowercase hexadecimal (archive member names, setup_data). */
export function sha256Hex(data) {
  return bytesToHex(sha256(toBytes(data)));
}

/** Python's repr() of a string, for messages that quote text as the Python package does. */
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const character of text) {
    const code = character.codePointAt(0);
    if (character === "\\") out += "\\\\";
    else if (character === quote) out += `\\${quote}`;
    else if (character === "\n") out += "\\n";
    else if (character === "\r") out += "\\r";
    else if (character === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += character;
  }
  return quote + out + quote;
}

// Python's str() of a parsed JSON value, for the few messages that quote one.
function pyStr(value) {
  if (value === undefined || value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** True when two byte arrays are equal. */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** A base-10 string without leading zeros, as a BigInt; Invalid for anything else. */
export function number(value, what) {
  if (typeof value !== "string" || !DECIMAL.test(value)) {
    throw new Invalid(`${what} is not a number written in base 10`);
  }
  return BigInt(value);
}

/** Check that `value` is an object with exactly `names` in that order (`optional` may be absent). */
export function members(value, names, what, optional = []) {
  if (!isObject(value)) throw new Invalid(`${what} is not a JSON object`);
  const expected = names.filter((name) => has(value, name) || !optional.includes(name));
  const actual = Object.keys(value);
  if (actual.length !== expected.length || actual.some((name, i) => name !== expected[i])) {
    throw new Invalid(`${what} must have the members ${expected.join(", ")}, in that order`);
  }
  return value;
}

/** Check that `value` is a JSON array (of `length` items when given). */
export function array(value, what, length = null) {
  if (!Array.isArray(value)) throw new Invalid(`${what} is not a JSON array`);
  if (length !== null && value.length !== length) {
    throw new Invalid(`${what} must have ${length} items, not ${value.length}`);
  }
  return value;
}

// --- Credentials (§4.8; credentials.py) ---------------------------------------------------

const CREDENTIAL_LENGTH = 15;

function randomBase58(count) {
  // Uniform by rejection: bytes >= 232 (= 4 × 58) are drawn again.
  let out = "";
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      if (byte < 232 && out.length < count) out += BASE58[byte % 58];
    }
  }
  return out;
}

function checksum(first14) {
  let value = 0n;
  for (const character of first14) value = value * 58n + BigInt(BASE58.indexOf(character));
  return BASE58[Number(mod(53n - value, 53n))];
}

function dashed(raw) {
  return raw.match(/.{3}/g).join("-");
}

/** A fresh private credential in its printed form XXX-XXX-XXX-XXX-XXX. */
export function newCredential() {
  const body = randomBase58(CREDENTIAL_LENGTH - 1);
  return dashed(body + checksum(body));
}

/** The printed form of a credential as typed (spaces trimmed, dashes optional), or null. */
export function normaliseCredential(text) {
  if (typeof text !== "string") return null;
  const raw = text.trim().split("-").join("");
  if (raw.length !== CREDENTIAL_LENGTH || [...raw].some((c) => !BASE58.includes(c))) return null;
  if (checksum(raw.slice(0, -1)) !== raw.slice(-1)) return null;
  return dashed(raw);
}

/** secret(c): PBKDF2-HMAC-SHA256(credential as printed, salt uuid, 1000, 32 bytes) mod q. */
export function secretExponent(uuid, credential) {
  const derived = pbkdf2(sha256, utf8ToBytes(credential), utf8ToBytes(uuid), { c: 1000, dkLen: 32 });
  return BigInt(`0x${bytesToHex(derived)}`) % Q;
}

/** public(c) = g^secret(c) as a base-10 string, what the server stores and ballots carry. */
export function publicCredential(uuid, credential) {
  return gPower(secretExponent(uuid, credential)).toString();
}

/** An election identifier: 14 Base58 characters. */
export function newUuid() {
  return randomBase58(14);
}

// --- Zero-knowledge proofs (proofs.py) ----------------------------------------------------

function proofJson([challenge, response]) {
  return { challenge: challenge.toString(), response: response.toString() };
}

function ciphertextJson([alpha, beta]) {
  return { alpha: alpha.toString(), beta: beta.toString() };
}

/** A {challenge, response} member as [challenge, response] BigInts, both below q. */
export function parseProof(value, what) {
  members(value, ["challenge", "response"], what);
  const challenge = number(value.challenge, `${what}'s challenge`);
  const response = number(value.response, `${what}'s response`);
  if (challenge >= Q || response >= Q) {
    throw new Invalid(`${what} has a challenge or response that is not a number modulo q`);
  }
  return [challenge, response];
}

/** A group element written in base 10; Invalid when outside the order-q subgroup. */
export function parseElement(value, what) {
  const element = number(value, what);
  if (!isElement(element)) throw new Invalid(`${what} is not an element of the group`);
  return element;
}

/** An {alpha, beta} ciphertext as [alpha, beta] BigInts, both group elements. */
export function parseCiphertext(value, what) {
  members(value, ["alpha", "beta"], what);
  return [parseElement(value.alpha, `${what}'s alpha`), parseElement(value.beta, `${what}'s beta`)];
}

function commitment(base, response, element, challenge) {
  return multiply(powMod(base, response), powMod(element, challenge));
}

function product(ciphertexts) {
  let alpha = 1n;
  let beta = 1n;
  for (const [a, b] of ciphertexts) {
    alpha = (alpha * a) % P;
    beta = (beta * b) % P;
  }
  return [alpha, beta];
}

// The product of a ballot's ciphertexts that its proofs raise to several challenges.
function raisedProduct(ciphertexts) {
  const total = product(ciphertexts);
  keepProductPowers(total[0], ciphertexts.map(([alpha]) => alpha));
  keepProductPowers(total[1], ciphertexts.map(([, beta]) => beta));
  return total;
}

function sum(values) {
  return values.reduce((total, value) => total + value, 0n);
}

/** A Schnorr proof of knowledge of `secret` whose challenge is H(prefix + A) mod q. */
export function proveKnowledge(secret, prefix) {
  const w = randomExponent();
  const challenge = hashToExponent(prefix + gPower(w).toString());
  return [challenge, mod(w - secret * challenge, Q)];
}

export function verifyKnowledge(publicKey, [challenge, response], prefix) {
  const a = commitment(G, response, publicKey, challenge);
  return hashToExponent(prefix + a.toString()) === challenge;
}

/** Hpok (§4.5): pok|G|X|A. */
export function pokPrefix(publicKey) {
  return `pok|${GROUP.name}|${publicKey}|`;
}

function signaturePrefix(ballotHash) {
  return `sig|${ballotHash}|`;
}

// Commitments A = g^response·alpha^challenge and B = y^response·(beta/g^shift)^challenge
// of a proof that (alpha, beta) encrypts `shift`, recomputed from it. (beta/g^shift)^c is
// computed as beta^c·g^(-shift·c mod q), the same number since g has order q, so that the
// powers of beta share its ladder. `known` = {r, m} when the ciphertext is the caller's
// own (alpha = g^r, beta = y^r·g^m): then the same numbers are g^(response + r·c) and
// y^(response + r·c)·g^((m - shift)·c), powers of fixed bases only.
function pairCommitments(y, [alpha, beta], [challenge, response], shift, known = null) {
  if (known !== null) {
    const exponent = mod(response + known.r * challenge, Q);
    const shifted = gPower(mod(BigInt(known.m - shift) * challenge, Q));
    return [gPower(exponent), multiply(powMod(y, exponent), shifted)];
  }
  const a = commitment(G, response, alpha, challenge);
  const b = commitment(y, response, beta, challenge);
  return [a, shift === 0 ? b : multiply(b, gPower(mod(-BigInt(shift) * challenge, Q)))];
}

// The interval commitments; the pair at `skip` (the real proof's) is left for the caller.
function intervalCommitments(y, ciphertext, values, proofs, skip = -1, known = null) {
  const out = [];
  values.forEach((value, i) => {
    if (i === skip) out.push(0n, 0n);
    else out.push(...pairCommitments(y, ciphertext, proofs[i], value, known));
  });
  return out;
}

function iproveHash(statement, [alpha, beta], commits) {
  return hashToExponent(`prove|${statement}|${alpha},${beta}|${commits.join(",")}`);
}

function randomPair() {
  return [randomExponent(), randomExponent()];
}

function intervalProve(y, statement, ciphertext, r, index, values) {
  const proofs = values.map(randomPair);
  const w = randomExponent();
  const commits = intervalCommitments(y, ciphertext, values, proofs, index, { r, m: values[index] });
  commits[2 * index] = gPower(w);
  commits[2 * index + 1] = powMod(y, w);
  const total = iproveHash(statement, ciphertext, commits);
  const others = sum(proofs.filter((_, j) => j !== index).map(([c]) => c));
  const challenge = mod(total - others, Q);
  proofs[index] = [challenge, mod(w - r * challenge, Q)];
  return proofs;
}

function intervalVerify(y, statement, ciphertext, proofs, values) {
  if (proofs.length !== values.length) return false;
  const commits = intervalCommitments(y, ciphertext, values, proofs);
  const total = sum(proofs.map(([c]) => c)) % Q;
  return iproveHash(statement, ciphertext, commits) === total;
}

function blankProve(y, statement, blank, total, rBlank, rTotal, isBlank, count) {
  const simulated = randomPair();
  const w = randomExponent();
  const real = [gPower(w), powMod(y, w)];
  let a0;
  let b0;
  let aS;
  let bS;
  let secret;
  if (isBlank) {
    [a0, b0] = pairCommitments(y, blank, simulated, 0, { r: rBlank, m: 1 });
    [aS, bS] = real;
    secret = rTotal;
  } else {
    [aS, bS] = pairCommitments(y, total, simulated, 0, { r: rTotal, m: count });
    [a0, b0] = real;
    secret = rBlank;
  }
  const digest = hashToExponent(`bproof0|${statement}|${[a0, b0, aS, bS].join(",")}`);
  const challenge = mod(digest - simulated[0], Q);
  const proof = [challenge, mod(w - secret * challenge, Q)];
  return isBlank ? [simulated, proof] : [proof, simulated];
}

function blankVerify(y, statement, blank, total, proofs) {
  if (proofs.length !== 2) return false;
  const [a0, b0] = pairCommitments(y, blank, proofs[0], 0);
  const [aS, bS] = pairCommitments(y, total, proofs[1], 0);
  const digest = hashToExponent(`bproof0|${statement}|${[a0, b0, aS, bS].join(",")}`);
  return digest === (proofs[0][0] + proofs[1][0]) % Q;
}

function overallBlankCommitments(y, blank, total, values, proofs, skip = -1, known = [null, null]) {
  const commits = skip === 0 ? [0n, 0n] : pairCommitments(y, blank, proofs[0], 1, known[0]);
  values.forEach((value, i) => {
    if (i + 1 === skip) commits.push(0n, 0n);
    else commits.push(...pairCommitments(y, total, proofs[i + 1], value, known[1]));
  });
  return commits;
}

function overallBlankProve(y, statement, blank, total, rBlank, rTotal, isBlank, count, values) {
  const proofs = [randomPair(), ...values.map(randomPair)];
  const index = isBlank ? 0 : values.indexOf(count) + 1;
  const w = randomExponent();
  const known = [
    { r: rBlank, m: isBlank ? 1 : 0 },
    { r: rTotal, m: count },
  ];
  const commits = overallBlankCommitments(y, blank, total, values, proofs, index, known);
  commits[2 * index] = gPower(w);
  commits[2 * index + 1] = powMod(y, w);
  const digest = hashToExponent(`bproof1|${statement}|${commits.join(",")}`);
  const challenge = mod(digest - sum(proofs.filter((_, j) => j !== index).map(([c]) => c)), Q);
  const secret = isBlank ? rBlank : rTotal;
  proofs[index] = [challenge, mod(w - secret * challenge, Q)];
  return proofs;
}

function overallBlankVerify(y, statement, blank, total, proofs, values) {
  if (proofs.length !== values.length + 1) return false;
  const commits = overallBlankCommitments(y, blank, total, values, proofs);
  const digest = hashToExponent(`bproof1|${statement}|${commits.join(",")}`);
  return digest === sum(proofs.map(([c]) => c)) % Q;
}

/** Proof that log_g(X) = log_alpha(alpha^x), bound to the election's fingerprint (§4.18). */
export function decryptionProve(electionFingerprint, x, publicKey, alpha) {
  const w = randomExponent();
  const a = gPower(w);
  const b = powMod(alpha, w);
  const challenge = hashToExponent(`decrypt|${electionFingerprint}|${publicKey}|${a},${b}`);
  return [challenge, mod(w - x * challenge, Q)];
}

export function decryptionVerify(electionFingerprint, publicKey, alpha, factor, [challenge, response]) {
  const a = commitment(G, response, publicKey, challenge);
  const b = commitment(alpha, response, factor, challenge);
  return hashToExponent(`decrypt|${electionFingerprint}|${publicKey}|${a},${b}`) === challenge;
}

// --- The election (§4.9–4.10; election.py) --------------------------------------------------

const ELECTION_MEMBERS = [
  "version",
  "description",
  "name",
  "group",
  "public_key",
  "questions",
  "uuid",
  "administrator",
  "credential_authority",
];
const QUESTION_MEMBERS = ["answers", "blank", "min", "max", "question"];

function checkPlaintext(question, choices) {
  if (!Array.isArray(choices) || choices.length !== question.width || choices.some((c) => c !== 0 && c !== 1)) {
    throw new Invalid(`an answer to ${pyRepr(question.text)} must be ${question.width} zeros or ones`);
  }
  if (question.blank && choices[0] === 1) {
    if (choices.slice(1).some((c) => c !== 0)) {
      throw new Invalid(`a blank vote for ${pyRepr(question.text)} selects no answer`);
    }
    return;
  }
  const selected = (question.blank ? choices.slice(1) : choices).reduce((a, b) => a + b, 0);
  if (selected < question.min || selected > question.max) {
    throw new Invalid(`${pyRepr(question.text)} needs between ${question.min} and ${question.max} answers`);
  }
}

/**
 * Parse the stored election (a string or its exact bytes). Returns
 * {raw (Uint8Array), fingerprint, uuid, name, description, group, publicKey (BigInt),
 *  questions: [{text, answers, min, max, blank, width}], administrator, credentialAuthority}.
 * A value this function returned may be passed wherever an election is expected.
 */
export function parseElection(raw) {
  if (raw && raw.fingerprint && raw.questions && raw.raw) return raw;
  const bytes = toBytes(raw);
  const value = loads(bytes, "the election");
  if (!isObject(value) || Object.keys(value).some((key) => !ELECTION_MEMBERS.includes(key))) {
    throw new Invalid("the election has members that version 1 does not define");
  }
  if (value.version !== 1) throw new Invalid("the election is not version 1 of the Belenios format");
  if (value.group !== GROUP.name) {
    throw new Invalid(
      `group ${pyRepr(pyStr(value.group))} is not supported: only ${GROUP.name} (homomorphic questions)`,
    );
  }
  const publicKey = number(value.public_key, "the election public key");
  if (!isElement(publicKey)) throw new Invalid("the election public key is not an element of the group");
  precompute(publicKey);
  const questions = array(value.questions, "the questions").map((item, i) => {
    const what = `question ${i + 1}`;
    if (!isObject(item) || has(item, "type")) {
      throw new Invalid(`${what} is not homomorphic, and only homomorphic questions are supported`);
    }
    members(item, QUESTION_MEMBERS, what, ["blank"]);
    const answers = array(item.answers, `${what}'s answers`);
    if (!answers.length || answers.some((a) => typeof a !== "string")) {
      throw new Invalid(`${what} must have answers written as text`);
    }
    const { min, max } = item;
    if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 0 && min <= max && max <= answers.length)) {
      throw new Invalid(`${what} must have 0 ≤ min ≤ max ≤ the number of answers`);
    }
    const blank = has(item, "blank") ? item.blank : false;
    if (blank !== true && blank !== false) throw new Invalid(`${what}'s blank must be true or false`);
    return Object.freeze({
      text: item.question,
      answers: Object.freeze([...answers]),
      min,
      max,
      blank,
      width: answers.length + (blank ? 1 : 0),
    });
  });
  if (!questions.length) throw new Invalid("the election has no question");
  if (typeof value.uuid !== "string" || value.uuid.length < 14) {
    throw new Invalid("the election uuid must be at least 14 Base58 characters");
  }
  return Object.freeze({
    raw: bytes,
    fingerprint: fingerprint(bytes),
    uuid: value.uuid,
    name: String(value.name ?? ""),
    description: String(value.description ?? ""),
    group: GROUP,
    publicKey,
    questions: Object.freeze(questions),
    administrator: value.administrator ?? null,
    credentialAuthority: value.credential_authority ?? null,
  });
}

// --- Ballots (§4.11, §4.14, §4.15; ballot.py) -------------------------------------------

const BALLOT_MEMBERS = ["election_uuid", "election_hash", "credential", "answers", "signature"];
const ANSWER_MEMBERS = ["choices", "individual_proofs", "overall_proof", "blank_proof"];

// The canonical bytes of a parsed message, or none when it has something JavaScript
// cannot write back as it was (a member named like an array index, a number out of range).
function canonicalBytes(value) {
  try {
    return utf8ToBytes(dumps(value));
  } catch {
    return new Uint8Array(0);
  }
}

function statementOf(prefix, ciphertexts) {
  return `${prefix}|${ciphertexts.map(([alpha, beta]) => `${alpha},${beta}`).join(",")}`;
}

function range(low, high) {
  const out = [];
  for (let value = low; value <= high; value += 1) out.push(value);
  return out;
}

function makeAnswer(election, question, prefix, plain) {
  const y = election.publicKey;
  const randomness = plain.map(() => randomExponent());
  const ciphertexts = randomness.map((r, i) => [gPower(r), multiply(powMod(y, r), gPower(BigInt(plain[i])))]);
  const individual = ciphertexts.map((ct, i) => intervalProve(y, prefix, ct, randomness[i], plain[i], [0, 1]));
  const statement = statementOf(prefix, ciphertexts);
  const values = range(question.min, question.max);
  const answer = {
    choices: ciphertexts.map(ciphertextJson),
    individual_proofs: individual.map((pair) => pair.map(proofJson)),
  };
  if (!question.blank) {
    const total = product(ciphertexts);
    const count = plain.reduce((a, b) => a + b, 0);
    const overall = intervalProve(y, statement, total, sum(randomness) % Q, count - question.min, values);
    answer.overall_proof = overall.map(proofJson);
  } else {
    const blank = ciphertexts[0];
    const total = product(ciphertexts.slice(1));
    const rBlank = randomness[0];
    const rTotal = sum(randomness.slice(1)) % Q;
    const isBlank = plain[0] === 1;
    const count = plain.slice(1).reduce((a, b) => a + b, 0);
    const overall = overallBlankProve(y, statement, blank, total, rBlank, rTotal, isBlank, count, values);
    const blankProof = blankProve(y, statement, blank, total, rBlank, rTotal, isBlank, count);
    answer.overall_proof = overall.map(proofJson);
    answer.blank_proof = blankProof.map(proofJson);
  }
  return [answer, randomness];
}

/**
 * Encrypt `plaintexts` (per question, 0/1 per answer with the blank flag first when blank
 * is allowed) and sign with the private `credential` (its printed form: pass what
 * normaliseCredential returned). Returns {ballot: canonical JSON string, tracker: its
 * fingerprint, randomness: per question, per choice, the exponent as a base-10 string}.
 * The randomness is what a Benaloh check reveals: a ballot whose randomness was shown must
 * never be cast. Throws Invalid for choices a question refuses.
 */
export function makeBallot(electionRaw, credential, plaintexts) {
  const election = parseElection(electionRaw);
  if (!Array.isArray(plaintexts) || plaintexts.length !== election.questions.length) {
    throw new Invalid(`the ballot needs ${election.questions.length} answers`);
  }
  election.questions.forEach((question, i) => checkPlaintext(question, plaintexts[i]));
  const secret = secretExponent(election.uuid, credential);
  const publicKey = gPower(secret);
  const prefix = `${election.fingerprint}|${publicKey}`;
  const answers = [];
  const randomness = [];
  election.questions.forEach((question, i) => {
    const [answer, r] = makeAnswer(election, question, prefix, plaintexts[i]);
    answers.push(answer);
    randomness.push(r.map(String));
  });
  const ballot = {
    election_uuid: election.uuid,
    election_hash: election.fingerprint,
    credential: publicKey.toString(),
    answers,
  };
  const ballotHash = fingerprint(dumps(ballot));
  const proof = proveKnowledge(secret, signaturePrefix(ballotHash));
  ballot.signature = { hash: ballotHash, proof: proofJson(proof) };
  const text = dumps(ballot);
  return { ballot: text, tracker: fingerprint(text), randomness };
}

function checkAnswer(election, question, position, prefix, value) {
  const y = election.publicKey;
  const what = `the answer to question ${position}`;
  members(value, ANSWER_MEMBERS, what, ["blank_proof"]);
  if (has(value, "blank_proof") !== question.blank) {
    throw new Invalid(`${what} ${question.blank ? "lacks" : "has"} a blank proof`);
  }
  const rawChoices = array(value.choices, `${what}'s choices`, question.width);
  const ciphertexts = rawChoices.map((ct, i) => parseCiphertext(ct, `${what}'s choice ${i + 1}`));
  const rawIndividual = array(value.individual_proofs, `${what}'s proofs`, question.width);
  ciphertexts.forEach((ct, i) => {
    const parsed = array(rawIndividual[i], what, 2).map((p) => parseProof(p, `${what}'s proof ${i + 1}`));
    if (!intervalVerify(y, prefix, ct, parsed, [0, 1])) {
      throw new Invalid(`${what}: the proof that choice ${i + 1} is 0 or 1 does not verify`);
    }
  });
  const statement = statementOf(prefix, ciphertexts);
  const values = range(question.min, question.max);
  const overall = array(value.overall_proof, what).map((p) => parseProof(p, `${what}'s overall proof`));
  let ok;
  if (!question.blank) {
    ok = intervalVerify(y, statement, raisedProduct(ciphertexts), overall, values);
  } else {
    const blank = ciphertexts[0];
    const total = raisedProduct(ciphertexts.slice(1));
    const blankProof = array(value.blank_proof, what, 2).map((p) => parseProof(p, `${what}'s blank proof`));
    if (!blankVerify(y, statement, blank, total, blankProof)) {
      throw new Invalid(`${what}: the proof that it is either blank or not does not verify`);
    }
    ok = overallBlankVerify(y, statement, blank, total, overall, values);
  }
  if (!ok) {
    throw new Invalid(
      `${what}: the proof that it selects between ${question.min} and ${question.max} answers does not verify`,
    );
  }
  return ciphertexts;
}

/**
 * Check a received ballot completely: canonical form, election, group membership of every
 * element, every proof and the signature. Returns {raw, tracker, credential (BigInt),
 * choices: per question, per choice, [alpha, beta] BigInts}; throws Invalid saying what is
 * wrong. Whether the credential is on the voter list is the caller's to check.
 */
export function checkBallot(electionRaw, ballotString) {
  const election = parseElection(electionRaw);
  const bytes = toBytes(ballotString);
  const value = loads(bytes, "the ballot");
  members(value, BALLOT_MEMBERS, "the ballot");
  if (!sameBytes(canonicalBytes(value), bytes)) {
    throw new Invalid("the ballot is not in canonical form (compact JSON, as Belenios writes it)");
  }
  if (value.election_uuid !== election.uuid) throw new Invalid("the ballot is for another election");
  if (value.election_hash !== election.fingerprint) {
    throw new Invalid("the ballot was made for a different version of this election");
  }
  const credential = parseElement(value.credential, "the ballot's credential");
  const answers = array(value.answers, "the ballot's answers", election.questions.length);
  const prefix = `${election.fingerprint}|${credential}`;
  const choices = election.questions.map((question, i) => checkAnswer(election, question, i + 1, prefix, answers[i]));
  const signature = members(value.signature, ["hash", "proof"], "the ballot's signature");
  const unsigned = {};
  for (const key of BALLOT_MEMBERS.slice(0, -1)) unsigned[key] = value[key];
  if (signature.hash !== fingerprint(dumps(unsigned))) {
    throw new Invalid("the ballot's signature is over different contents");
  }
  const proof = parseProof(signature.proof, "the ballot's signature");
  if (!verifyKnowledge(credential, proof, signaturePrefix(signature.hash))) {
    throw new Invalid("the ballot's signature does not verify with its credential");
  }
  return { raw: toText(bytes, "the ballot"), tracker: fingerprint(bytes), credential, choices };
}

/**
 * The Benaloh check: true when encrypting `plaintexts` with the revealed `randomness`
 * (base-10 strings or BigInts, as makeBallot returned them) gives exactly the ballot's
 * ciphertexts, i.e. the ballot says what the voter chose. It does not check the ballot's
 * proofs (checkBallot does); any mismatch of shape is false.
 */
export function reencryptMatches(electionRaw, ballotString, plaintexts, randomness) {
  const election = parseElection(electionRaw);
  const y = election.publicKey;
  let answers;
  try {
    answers = loads(ballotString, "the ballot").answers;
  } catch {
    return false;
  }
  if (!Array.isArray(answers) || !Array.isArray(plaintexts) || !Array.isArray(randomness)) return false;
  if (answers.length !== election.questions.length || plaintexts.length !== answers.length) return false;
  if (randomness.length !== answers.length) return false;
  for (let i = 0; i < answers.length; i += 1) {
    const choices = answers[i]?.choices;
    if (!Array.isArray(choices) || !Array.isArray(plaintexts[i]) || !Array.isArray(randomness[i])) return false;
    if (choices.length !== plaintexts[i].length || choices.length !== randomness[i].length) return false;
    for (let j = 0; j < choices.length; j += 1) {
      const m = plaintexts[i][j];
      if (!Number.isInteger(m) || m < 0) return false;
      let r;
      try {
        r = BigInt(randomness[i][j]);
      } catch {
        return false;
      }
      const alpha = gPower(r).toString();
      const beta = multiply(powMod(y, r), gPower(BigInt(m))).toString();
      if (choices[j]?.alpha !== alpha || choices[j]?.beta !== beta) return false;
    }
  }
  return true;
}

// --- Trustees (§3.1.1, §4.5–4.7; trustees.py) ------------------------------------------

/** {pok, public_key} for the private key x (x need not be reduced mod q). */
export function keyFromPrivate(x) {
  const publicKey = gPower(x);
  const pok = proveKnowledge(x, pokPrefix(publicKey));
  return { pok: proofJson(pok), public_key: publicKey.toString() };
}

/** A trustee_public_key checked: its public key (BigInt) once its proof of knowledge holds. */
export function parseTrusteeKey(value, what) {
  members(value, ["pok", "public_key"], what);
  const publicKey = parseElement(value.public_key, `${what}'s public key`);
  const pok = parseProof(value.pok, `${what}'s proof of knowledge`);
  if (!verifyKnowledge(publicKey, pok, pokPrefix(publicKey))) {
    throw new Invalid(`${what}: the proof that its owner knows the private key does not verify`);
  }
  return publicKey;
}

/** A signed_msg {message, signature} made with `signingKey`: the challenge is H(sigmsg|M|A) mod q. */
export function sign(signingKey, message) {
  return { message, signature: proofJson(proveKnowledge(signingKey, `sigmsg|${message}|`)) };
}

/** Check a signed_msg with `verificationKey`; return its message. */
export function verifySigned(verificationKey, signed, what) {
  members(signed, ["message", "signature"], what);
  const { message } = signed;
  if (typeof message !== "string") throw new Invalid(`${what}'s message is not text`);
  const proof = parseProof(signed.signature, `${what}'s signature`);
  if (!verifyKnowledge(verificationKey, proof, `sigmsg|${message}|`)) {
    throw new Invalid(`${what}: the signature does not verify`);
  }
  return message;
}

/** A certificate's [verification, encryption] keys (BigInt), its self-signature checked. */
export function certificateKeys(cert, what) {
  members(cert, ["message", "signature"], what);
  let keys;
  try {
    if (typeof cert.message !== "string") throw new TypeError("not text");
    keys = JSON.parse(cert.message);
  } catch {
    throw new Invalid(`${what} does not hold keys`);
  }
  members(keys, ["verification", "encryption"], what);
  const verification = parseElement(keys.verification, `${what}'s verification key`);
  const encryption = parseElement(keys.encryption, `${what}'s encryption key`);
  verifySigned(verification, cert, what);
  return [verification, encryption];
}

function parsePedersen(value, position) {
  const what = `trustee group ${position}`;
  members(value, ["threshold", "certs", "coefexps", "verification_keys"], what);
  const certs = array(value.certs, `${what}'s certificates`);
  const count = certs.length;
  const { threshold } = value;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) {
    throw new Invalid(`${what}: the threshold must be between 1 and the number of trustees`);
  }
  const signedCoefexps = array(value.coefexps, `${what}'s coefficients`, count);
  const rawKeys = array(value.verification_keys, `${what}'s verification keys`, count);
  const commitments = certs.map((cert, i) => {
    const z = i + 1;
    const [verification] = certificateKeys(cert, `${what}, trustee ${z}'s certificate`);
    const message = verifySigned(verification, signedCoefexps[i], `${what}, trustee ${z}'s coefficients`);
    let raw;
    try {
      raw = JSON.parse(message);
    } catch {
      throw new Invalid(`${what}, trustee ${z}'s coefficients are not JSON`);
    }
    members(raw, ["coefexps"], `${what}, trustee ${z}'s coefficients`);
    const values = array(raw.coefexps, `${what}, trustee ${z}'s coefficients`, threshold);
    return values.map((v) => parseElement(v, `${what}, trustee ${z}'s coefficient`));
  });
  const keys = rawKeys.map((rawKey, i) => {
    const j = BigInt(i + 1);
    const key = parseTrusteeKey(rawKey, `${what}, trustee ${i + 1}'s verification key`);
    let expected = 1n;
    for (const row of commitments) {
      row.forEach((c, k) => {
        expected = multiply(expected, powMod(c, j ** BigInt(k)));
      });
    }
    if (key !== expected) {
      throw new Invalid(`${what}, trustee ${i + 1}'s verification key does not match the others' coefficients`);
    }
    return key;
  });
  return { kind: "Pedersen", threshold, keys, subKey: multiply(...commitments.map((row) => row[0])), raw: value };
}

/**
 * Parse and check the trustees message (string or bytes): every proof, signature and key
 * relation. Returns items {kind: "Single" | "Pedersen", keys: [BigInt], subKey, threshold?}.
 */
export function parseTrustees(raw) {
  let value;
  try {
    value = loads(raw, "the trustees message");
  } catch {
    throw new Invalid("the trustees message is not JSON");
  }
  const items = array(value, "the trustees").map((item, i) => {
    const position = i + 1;
    const [kind, body] = array(item, `trustee item ${position}`, 2);
    if (kind === "Single") {
      const key = parseTrusteeKey(body, `trustee ${position}`);
      return { kind, keys: [key], subKey: key };
    }
    if (kind === "Pedersen") return parsePedersen(body, position);
    throw new Invalid(`trustee item ${position} is of an unknown kind ${typeof kind === "string" ? pyRepr(kind) : JSON.stringify(kind)}`);
  });
  if (!items.length) throw new Invalid("the election has no trustee");
  return items;
}

/** [owner number, item, index within the item from 1] for every key, in order. */
export function owners(items) {
  const out = [];
  for (const item of items) {
    for (let index = 1; index <= item.keys.length; index += 1) out.push([out.length + 1, item, index]);
  }
  return out;
}

// --- Tallies (§4.16; tally.py) ----------------------------------------------------------

/** The encrypted tally (parsed JSON) as per question, per answer [alpha, beta] BigInts. */
export function parseTally(election, value) {
  const rows = array(value, "the encrypted tally", election.questions.length);
  return election.questions.map((question, i) =>
    array(rows[i], `the tally of question ${i + 1}`, question.width).map((ct) =>
      parseCiphertext(ct, `the tally of question ${i + 1}`),
    ),
  );
}

export { ciphertextJson, mod, product, proofJson, randomBytes, randomBase58 };
