// Test driver for tests/test_voting_javascript.py: reads {"ops": [{op, ...arguments}]} as
// JSON on stdin, runs each operation with the voting modules, and writes a JSON list with,
// per operation, {"ok": value} or {"error": message, "name": error class}. BigInts are
// written as base-10 strings; bytes travel as hex or as file paths.

import { readFileSync } from "node:fs";

import { ccmDecrypt, ccmEncrypt } from "../ccm.js";
import * as protocol from "../protocol.js";
import * as trustee from "../trustee.js";
import { verifyArchive } from "../verify.js";

const hex = (text) => Uint8Array.from(Buffer.from(text, "hex"));
const toHex = (bytes) => Buffer.from(bytes).toString("hex");

let workerImports = 0;

const operations = {
  makeBallot: ({ election, credential, plaintexts }) => protocol.makeBallot(election, credential, plaintexts),
  checkBallot: ({ election, ballot }) => {
    const checked = protocol.checkBallot(election, ballot);
    return { tracker: checked.tracker, credential: checked.credential };
  },
  reencryptMatches: ({ election, ballot, plaintexts, randomness }) =>
    protocol.reencryptMatches(election, ballot, plaintexts, randomness),
  parseElection: ({ election }) => {
    const parsed = protocol.parseElection(election);
    return { uuid: parsed.uuid, fingerprint: parsed.fingerprint, questions: parsed.questions };
  },
  publicCredential: ({ uuid, credential }) => protocol.publicCredential(uuid, credential),
  normaliseCredential: ({ text }) => protocol.normaliseCredential(text),
  newCredential: () => protocol.newCredential(),
  fingerprint: ({ text }) => protocol.fingerprint(text),
  dumps: ({ value }) => protocol.dumps(value),
  newSeed: () => trustee.newSeed(),
  keysFromSeed: ({ seed }) => trustee.keysFromSeed(seed),
  step1Certificate: ({ seed }) => trustee.step1Certificate(seed),
  step3Polynomial: ({ seed, certificates, threshold }) => trustee.step3Polynomial(seed, certificates, threshold),
  step5Voutput: ({ seed, certificates, vinput }) => trustee.step5Voutput(seed, certificates, vinput),
  decryptionKey: ({ seed, encryptedKey, certificates }) => trustee.decryptionKey(seed, encryptedKey, certificates),
  partialDecryption: ({ election, tally, privateKey }) =>
    trustee.partialDecryption(election, tally, BigInt(privateKey)),
  ccmEncrypt: ({ key, nonce, data, aad, tagLength }) =>
    toHex(ccmEncrypt(hex(key), hex(nonce), hex(data), { aad: hex(aad), tagLength })),
  ccmDecrypt: ({ key, nonce, data, aad, tagLength }) =>
    toHex(ccmDecrypt(hex(key), hex(nonce), hex(data), { aad: hex(aad), tagLength })),
  verifyArchive: ({ path }) => {
    const progress = [];
    const report = verifyArchive(readFileSync(path), (done, total) => progress.push([done, total]));
    return { ...report, progress };
  },
  // The Web Worker, run with a stand-in for the worker's global `self`.
  // A fresh module instance each time (a query string), so that it sets its own onmessage.
  worker: async ({ path, module = "../verify-worker.js" }) => {
    const posted = [];
    globalThis.self = { postMessage: (message) => posted.push(message) };
    workerImports += 1;
    await import(`${new URL(module, import.meta.url).href}?instance=${workerImports}`);
    const bytes = readFileSync(path);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    globalThis.self.onmessage({ data: { archive: buffer } });
    return posted;
  },
  // [base, exponent, modulus?] as base-10 strings, in order (the tables count their uses);
  // `election` is parsed first, which gives its key a table.
  powMod: ({ election, cases }) => {
    if (election) protocol.parseElection(election);
    return cases.map(([base, exponent, modulus]) =>
      modulus === undefined
        ? protocol.powMod(BigInt(base), BigInt(exponent))
        : protocol.powMod(BigInt(base), BigInt(exponent), BigInt(modulus)),
    );
  },
  isElement: ({ values }) => values.map((value) => protocol.isElement(BigInt(value))),
  timeMakeBallot: ({ election, credential, plaintexts, times = 3 }) => {
    const durations = [];
    for (let i = 0; i < times; i += 1) {
      const start = performance.now();
      protocol.makeBallot(election, credential, plaintexts);
      durations.push(performance.now() - start);
    }
    return durations;
  },
};

function plain(value) {
  return JSON.parse(JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
}

const input = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const { op, ...args } of input.ops) {
  try {
    if (!operations[op]) throw new Error(`unknown operation ${op}`);
    results.push({ ok: plain(await operations[op](args)) });
  } catch (error) {
    results.push({ error: error.message, name: error.name });
  }
}
process.stdout.write(JSON.stringify(results));
