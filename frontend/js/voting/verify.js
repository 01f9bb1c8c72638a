// Verify a whole election from its public archive (`<uuid>.bel`, specification §4.4) in the
// browser, as an observer would: trust nothing but the archive and the group, re-check every
// proof and recompute every total. The same checks, in the same order and with the same
// messages, as src/ecitizen_verify/verify.py and archive.py.
//
// Exported:
//   verifyArchive(bytes: Uint8Array | ArrayBuffer, onProgress?(done, total))
//     -> {lines: string[], result: number[][] | null, ballotsCast, ballotsCounted}
//     throws Invalid (an Error) with the first thing that fails.
//   readArchive(bytes) -> {timestamp, events: [{name, height, type, payloadName, payload}], data}
//   writeArchive(timestamp, members: Uint8Array[]) -> Uint8Array, tarMember, memberName

import { modInv } from "bigint-mod-arith";

import {
  GROUP,
  Invalid,
  checkBallot,
  decryptionVerify,
  divide,
  dumps,
  loads,
  members,
  multiply,
  owners,
  parseElection,
  parseElement,
  parseProof,
  parseTally,
  parseTrustees,
  powMod,
  product,
  pyRepr,
  sameBytes,
  sha256Hex,
  toBytes,
  array,
} from "./protocol.js";

const BLOCK = 512;
const EVENT_TYPES = [
  "Setup",
  "Ballot",
  "EndBallots",
  "EncryptedTally",
  "Shuffle",
  "EndShuffles",
  "PartialDecryption",
  "Result",
];
const encoder = new TextEncoder();

// --- The archive's framing (archive.py) -----------------------------------------------------

function octal(value, digits) {
  return value.toString(8).padStart(digits, "0");
}

/** One member as belenios-tool writes it: a v7 tar header, then the data padded to 512 bytes. */
export function tarMember(name, data, timestamp) {
  const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
  const out = new Uint8Array(BLOCK + data.length + padding);
  const header = out.subarray(0, BLOCK);
  header.set(encoder.encode(name), 0);
  header.set(encoder.encode("0000644\0"), 100);
  header.set(encoder.encode("0000000\0"), 108);
  header.set(encoder.encode("0000000\0"), 116);
  header.set(encoder.encode(`${octal(data.length, 11)}\0`), 124);
  header.set(encoder.encode(`${octal(timestamp, 11)}\0`), 136);
  header.set(encoder.encode("        "), 148);
  header[156] = "0".charCodeAt(0);
  header.set(encoder.encode(`${octal(checksum(header), 6)}\0 `), 148);
  out.set(data, BLOCK);
  return out;
}

function checksum(header) {
  let total = 0;
  for (const byte of header) total += byte;
  return total;
}

/** The `BELENIOS` member's content: the timestamp is a JSON string of Unix seconds. */
function headerBytes(timestamp) {
  return encoder.encode(dumps({ version: 1, timestamp: String(timestamp) }));
}

function startsWith(data, prefix) {
  const bytes = encoder.encode(prefix);
  if (data.length < bytes.length) return false;
  return bytes.every((byte, i) => data[i] === byte);
}

/** A member's name: `<sha256>.event.json` for events, `<sha256>.data.json` otherwise. */
export function memberName(data) {
  const event = startsWith(data, '{"parent":"') || startsWith(data, '{"height":0,');
  return `${sha256Hex(data)}.${event ? "event" : "data"}.json`;
}

/** The archive's bytes from its members' bytes in order (header excluded). */
export function writeArchive(timestamp, memberList) {
  const parts = [tarMember("BELENIOS", headerBytes(timestamp), timestamp)];
  for (const member of memberList) parts.push(tarMember(memberName(member), member, timestamp));
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function ascii(bytes) {
  let text = "";
  for (const byte of bytes) text += byte < 128 ? String.fromCharCode(byte) : "\ufffd";
  return text;
}

function readMembers(archive) {
  const found = [];
  let offset = 0;
  while (offset < archive.length) {
    const block = archive.subarray(offset, offset + BLOCK);
    if (block.length < BLOCK) throw new Invalid("the archive ends in the middle of a member's header");
    if (block.every((byte) => byte === 0)) {
      throw new Invalid("the archive has end-of-archive blocks, which Belenios does not write");
    }
    let end = 100;
    while (end > 0 && block[end - 1] === 0) end -= 1;
    const name = ascii(block.subarray(0, end));
    const sizeText = ascii(block.subarray(124, 135)).trim();
    if (!/^[0-7]+$/.test(sizeText)) throw new Invalid(`member ${pyRepr(name)} has an unreadable size`);
    const size = parseInt(sizeText, 8);
    const checked = Uint8Array.from(block);
    checked.fill(32, 148, 156);
    const expected = encoder.encode(`${octal(checksum(checked), 6)}\0 `);
    if (!sameBytes(block.subarray(148, 156), expected)) {
      throw new Invalid(`member ${pyRepr(name)} has a wrong header checksum`);
    }
    const data = archive.subarray(offset + BLOCK, offset + BLOCK + size);
    if (data.length < size) throw new Invalid(`member ${pyRepr(name)} is cut short`);
    found.push([name, data, offset]);
    offset += BLOCK + size + ((BLOCK - (size % BLOCK)) % BLOCK);
  }
  if (!found.length || found[0][0] !== "BELENIOS") {
    throw new Invalid("the archive does not start with its BELENIOS header");
  }
  let header;
  let timestamp;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(found[0][1]));
    const text = typeof header.timestamp === "string" ? header.timestamp.trim() : String(header.timestamp);
    if (!/^[+-]?[0-9]+$/.test(text)) throw new Error("unreadable");
    timestamp = Number(text);
  } catch {
    throw new Invalid("the archive's BELENIOS header is unreadable");
  }
  if (header.version !== 1 || typeof header.timestamp !== "string") {
    throw new Invalid("the archive's BELENIOS header is not version 1 with a string timestamp");
  }
  // Byte for byte what Belenios writes for these members (compared member by member, which
  // is the same as rebuilding the whole archive and comparing).
  const identical =
    timestamp >= 0 &&
    found.every(([, data, at], i) => {
      const expected = i === 0 ? tarMember("BELENIOS", headerBytes(timestamp), timestamp) : tarMember(memberName(data), data, timestamp);
      return sameBytes(archive.subarray(at, at + expected.length), expected) && (i < found.length - 1 || at + expected.length === archive.length);
    });
  if (!identical) {
    throw new Invalid(
      "the archive is not byte for byte what Belenios writes for its members (framing, member names or timestamps differ)",
    );
  }
  return [timestamp, found.slice(1).map(([name, data]) => [name, data])];
}

function eventBytes(parent, height, type, payload) {
  const event = {};
  if (parent !== null) event.parent = parent;
  event.height = height;
  event.type = type;
  if (payload !== undefined && payload !== null) event.payload = payload;
  return dumps(event);
}

/**
 * Read an archive into its chain of events, checking the chain: heights count from 0, each
 * event names its predecessor, and each payload precedes its event.
 */
export function readArchive(bytes) {
  const archive = toBytes(bytes);
  const [timestamp, found] = readMembers(archive);
  const data = new Map();
  const events = [];
  let parent = null;
  for (const [name, content] of found) {
    const dot = name.indexOf(".");
    const digest = dot < 0 ? name : name.slice(0, dot);
    const kind = dot < 0 ? "" : name.slice(dot + 1);
    if (kind === "data.json") {
      data.set(digest, content);
      continue;
    }
    if (kind !== "event.json") throw new Invalid(`member ${pyRepr(name)} is neither data nor an event`);
    let event;
    try {
      event = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(content));
    } catch {
      throw new Invalid(`event ${digest} is not JSON`);
    }
    const height = events.length;
    let expected;
    try {
      expected = eventBytes(parent, height, event.type ?? "", event.payload);
    } catch {
      expected = null;
    }
    if (!EVENT_TYPES.includes(event.type) || expected === null || !sameBytes(content, encoder.encode(expected))) {
      throw new Invalid(`event at height ${height} does not follow the previous event`);
    }
    const payloadName = event.payload ?? null;
    let payload = null;
    if (payloadName !== null) {
      if (typeof payloadName !== "string" || !data.has(payloadName)) {
        throw new Invalid(`event at height ${height} announces data that does not precede it`);
      }
      payload = data.get(payloadName);
    }
    events.push({ name: digest, height, type: event.type, payloadName, payload });
    parent = digest;
  }
  return { timestamp, events, data };
}

function datum(record, name, what) {
  if (typeof name !== "string" || !record.data.has(name)) {
    throw new Invalid(`${what} refers to ${name}, which is not in the archive`);
  }
  return record.data.get(name);
}

// --- Counting (tally.py) ----------------------------------------------------------------------

function lastBallots(ballots) {
  const latest = new Map();
  for (const ballot of ballots) {
    const key = ballot.credential.toString();
    latest.delete(key);
    latest.set(key, ballot);
  }
  return [...latest.values()];
}

function encryptedTally(election, ballots) {
  return election.questions.map((question, position) => {
    const column = [];
    for (let index = 0; index < question.width; index += 1) {
      column.push(product(ballots.map((b) => b.choices[position][index])));
    }
    return column;
  });
}

function tallyValue(tally) {
  return tally.map((row) => row.map(([alpha, beta]) => ({ alpha: alpha.toString(), beta: beta.toString() })));
}

// Python's == on parsed JSON: objects compare without regard to member order.
function equalJson(a, b) {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equalJson(x, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && equalJson(a[k], b[k]));
  }
  return a === b;
}

function checkPartialDecryption(election, tally, publicKey, value, who) {
  members(value, ["decryption_factors", "decryption_proofs"], `${who}'s partial decryption`);
  const rawFactors = array(value.decryption_factors, `${who}'s factors`, tally.length);
  const rawProofs = array(value.decryption_proofs, `${who}'s proofs`, tally.length);
  return tally.map((row, i0) => {
    const i = i0 + 1;
    const givenFactors = array(rawFactors[i0], `${who}'s factors`, row.length);
    const givenProofs = array(rawProofs[i0], `${who}'s proofs`, row.length);
    return row.map(([alpha], j0) => {
      const j = j0 + 1;
      const factor = parseElement(givenFactors[j0], `${who}'s factor ${i}.${j}`);
      const proof = parseProof(givenProofs[j0], `${who}'s proof ${i}.${j}`);
      if (!decryptionVerify(election.fingerprint, publicKey, alpha, factor, proof)) {
        throw new Invalid(
          `${who}'s partial decryption of question ${i}, answer ${j} does not match their public key: it was not made with their key, or it was altered`,
        );
      }
      return factor;
    });
  });
}

function lagrange(indexes, index, q) {
  let numerator = 1n;
  let denominator = 1n;
  for (const k of indexes) {
    if (k !== index) {
      numerator = (numerator * BigInt(k)) % q;
      denominator = (((denominator * BigInt(k - index)) % q) + q) % q;
    }
  }
  return (numerator * modInv(denominator, q)) % q;
}

function combine(items, tally, partials) {
  const combined = tally.map((row) => row.map(() => 1n));
  const byItem = new Map();
  for (const [owner, item, index] of owners(items)) {
    if (partials.has(owner)) {
      if (!byItem.has(item)) byItem.set(item, []);
      byItem.get(item).push([index, partials.get(owner)]);
    }
  }
  items.forEach((item, i) => {
    const position = i + 1;
    const supplied = byItem.get(item) ?? [];
    let weights;
    if (item.kind === "Single") {
      if (!supplied.length) throw new Invalid(`the partial decryption of trustee ${position} is missing`);
      weights = [[supplied[0][1], 1n]];
    } else {
      if (supplied.length < item.threshold) {
        throw new Invalid(
          `only ${supplied.length} of the ${item.threshold} partial decryptions needed from trustee group ${position} were given`,
        );
      }
      const chosen = supplied.slice(0, item.threshold);
      const indexes = chosen.map(([index]) => index);
      weights = chosen.map(([index, factors]) => [factors, lagrange(indexes, index, GROUP.q)]);
    }
    tally.forEach((row, r) => {
      row.forEach((_, c) => {
        for (const [factors, weight] of weights) {
          combined[r][c] = multiply(combined[r][c], powMod(factors[r][c], weight));
        }
      });
    });
  });
  return combined;
}

function result(tally, combined, bound) {
  const table = new Map();
  let power = 1n;
  for (let count = 0; count <= bound; count += 1) {
    table.set(power, count);
    power = multiply(power, GROUP.g);
  }
  return tally.map((row, r) =>
    row.map(([, beta], c) => {
      const total = table.get(divide(beta, combined[r][c]));
      if (total === undefined) {
        throw new Invalid("a decrypted total is not a count of the ballots: the decryption is wrong");
      }
      return total;
    }),
  );
}

/** Python's repr of a list of lists of ints: [[1, 2], [3]]. */
function listRepr(value) {
  return Array.isArray(value) ? `[${value.map(listRepr).join(", ")}]` : String(value);
}

// --- The whole election (verify.py) --------------------------------------------------------

function setup(record, say) {
  if (!record.events.length || record.events[0].type !== "Setup") {
    throw new Invalid("the archive does not begin with the election's Setup event");
  }
  const setupData = members(
    loads(record.events[0].payload ?? new Uint8Array(0), "the setup data"),
    ["election", "trustees", "credentials"],
    "the setup data",
  );
  const election = parseElection(datum(record, setupData.election, "the setup data"));
  const items = parseTrustees(datum(record, setupData.trustees, "the setup data"));
  if (multiply(...items.map((item) => item.subKey)) !== election.publicKey) {
    throw new Invalid("the election public key is not the product of the trustees' keys");
  }
  const singles = items.filter((item) => item.kind === "Single").length;
  const groups = items.filter((item) => item.kind === "Pedersen").map((item) => `${item.threshold} of ${item.keys.length}`);
  say(
    `election ${election.uuid} (${election.name}): version 1, group ${GROUP.name}, ` +
      `fingerprint ${election.fingerprint}, ${election.questions.length} question(s)`,
  );
  say(
    `trustees: ${singles} key(s) that must all decrypt` +
      (groups.length ? `, and threshold group(s) where any ${groups.join(", ")} decrypt` : "") +
      "; every proof of key knowledge, certificate and coefficient checked, and the " +
      "election key is their product",
  );
  const credentials = loads(datum(record, setupData.credentials, "the setup data"), "the credentials");
  if (!Array.isArray(credentials)) throw new Invalid("the public credentials are not a list");
  const weights = new Map();
  credentials.forEach((entry, i) => {
    const position = i + 1;
    if (typeof entry !== "string") throw new Invalid(`public credential ${position} is not text`);
    const comma = entry.indexOf(",");
    const text = comma < 0 ? entry : entry.slice(0, comma);
    const weight = comma < 0 ? "" : entry.slice(comma + 1);
    if (weight !== "" && weight !== "1") {
      throw new Invalid(`public credential ${position} has a weight; weighted votes are not supported`);
    }
    const credential = parseElement(text, `public credential ${position}`);
    if (weights.has(credential)) throw new Invalid(`public credential ${position} appears twice`);
    weights.set(credential, 1);
  });
  say(`${weights.size} public credentials, all group elements and all distinct`);
  return [election, items, weights];
}

function tallyName(event) {
  const sized = members(
    loads(event.payload ?? new Uint8Array(0), "the sized tally"),
    ["num_tallied", "total_weight", "encrypted_tally"],
    "the sized tally",
  );
  return String(sized.encrypted_tally);
}

function integer(value) {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\s*[+-]?[0-9]+\s*$/.test(value)) return Number(value);
  return NaN;
}

function checkTally(record, event, election, counted) {
  const sized = loads(event.payload ?? new Uint8Array(0), "the sized tally");
  if (sized?.num_tallied !== counted.length || integer(sized?.total_weight) !== counted.length) {
    throw new Invalid("the tally does not count the number of ballots it should");
  }
  const stored = loads(datum(record, tallyName(event), "the tally"), "the tally");
  if (!equalJson(stored, tallyValue(encryptedTally(election, counted)))) {
    throw new Invalid("the encrypted tally is not the product of the counted ballots");
  }
}

/**
 * Check an archive completely. `onProgress(done, total)` is called as ballots are checked.
 * Returns {lines, result (per question, per answer; null before the result is published),
 * ballotsCast, ballotsCounted}; throws Invalid with the first failure.
 */
export function verifyArchive(bytes, onProgress = null) {
  const lines = [];
  const say = (line) => lines.push(line);
  const report = { lines, result: null, ballotsCast: 0, ballotsCounted: 0 };
  const record = readArchive(bytes);
  say(
    `archive: ${record.events.length} events in one hash chain, every member named by its ` +
      "SHA-256, framed exactly as Belenios writes it",
  );
  const [election, items, credentials] = setup(record, say);
  const phases = record.events.slice(1).map((event) => event.type);
  const ballotEvents = record.events.slice(1).filter((event) => event.type === "Ballot");
  const end = phases.includes("EndBallots") ? phases.indexOf("EndBallots") : phases.length;
  if (phases.slice(end).includes("Ballot")) throw new Invalid("a ballot was added after the end of voting");
  const ballots = [];
  ballotEvents.forEach((event, i) => {
    const position = i + 1;
    let ballot;
    try {
      ballot = checkBallot(election, event.payload ?? new Uint8Array(0));
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      throw new Invalid(`ballot ${position} (event at height ${event.height}): ${error.message}`);
    }
    if (!credentials.has(ballot.credential)) {
      throw new Invalid(`ballot ${position} (event at height ${event.height}) has a credential not on the list`);
    }
    ballots.push(ballot);
    if (onProgress) onProgress(position, ballotEvents.length);
  });
  const counted = lastBallots(ballots);
  report.ballotsCast = ballots.length;
  report.ballotsCounted = counted.length;
  say(
    `${ballots.length} ballots: canonical, every proof and signature valid, every credential ` +
      `on the list; ${counted.length} counted (a later ballot replaces an earlier one)`,
  );
  const tallyEvents = record.events.filter((event) => event.type === "EncryptedTally");
  if (!tallyEvents.length) {
    say("voting has not been counted yet: no tally to check");
    return report;
  }
  checkTally(record, tallyEvents[0], election, counted);
  say(`the encrypted tally is the product of the ${counted.length} counted ballots`);
  const tally = parseTally(election, loads(datum(record, tallyName(tallyEvents[0]), "the tally"), "the tally"));
  const keys = new Map(owners(items).map(([owner, item, index]) => [owner, item.keys[index - 1]]));
  const partials = new Map();
  for (const event of record.events.filter((e) => e.type === "PartialDecryption")) {
    const owned = members(
      loads(event.payload ?? new Uint8Array(0), "a partial decryption"),
      ["owner", "payload"],
      "a partial decryption",
    );
    const { owner } = owned;
    if (!keys.has(owner)) {
      const shown = typeof owner === "string" ? owner : JSON.stringify(owner);
      throw new Invalid(`a partial decryption claims to be from trustee ${shown}, who does not exist`);
    }
    if (partials.has(owner)) throw new Invalid(`trustee ${owner} gave two partial decryptions`);
    const value = loads(datum(record, owned.payload, "a partial decryption"), "a partial decryption");
    partials.set(owner, checkPartialDecryption(election, tally, keys.get(owner), value, `trustee ${owner}`));
  }
  if (partials.size) {
    const who = [...partials.keys()].sort((a, b) => a - b).join(", ");
    say(`partial decryptions from trustees ${who}: every proof checked against the trustee's public key`);
  }
  const resultEvents = record.events.filter((event) => event.type === "Result");
  if (!resultEvents.length) {
    say("no result has been published yet");
    return report;
  }
  const published = members(loads(resultEvents[0].payload ?? new Uint8Array(0), "the result"), ["result"], "the result");
  const counts = result(tally, combine(items, tally, partials), counted.length);
  if (!equalJson(published.result, counts)) {
    throw new Invalid("the published result is not what the partial decryptions give");
  }
  report.result = counts;
  say(`the result ${listRepr(counts)} is what the trustees' partial decryptions give`);
  return report;
}
