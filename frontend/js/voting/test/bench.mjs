// How long the voting protocol takes in Node, on a real archive (`<uuid>.bel`, as
// `ecitizen voting archive` or ecitizen_verify.tests.builders writes one). Nothing here
// asserts; the tests do not run it.
//
//   node frontend/js/voting/test/bench.mjs ARCHIVE [MODULES]
//
// prints, for the archive's election: makeBallot (the first call in the process, which
// builds the tables of g and of the election key, then the mean of 10 more), checkBallot
// per ballot (every ballot of the archive, in a process that has checked none yet) and
// verifyArchive per ballot cast (in a fresh process, so with the tables' first builds).
// MODULES is the folder of protocol.js and verify.js (default: this one's parent), to
// compare with another version of them. Times are the process's CPU time (user and
// system, all threads), which a busy machine disturbs less than the wall clock; one process
// per measure.

import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const [archivePath, modules = fileURLToPath(new URL("..", import.meta.url)), measure] = process.argv.slice(2);
if (!archivePath) {
  process.stderr.write("usage: node bench.mjs ARCHIVE [MODULES]\n");
  process.exit(2);
}
const load = (name) => import(pathToFileURL(`${modules}/${name}`).href);

// CPU milliseconds since the process started.
function cpu() {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

function mean(values) {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

// Per question, a valid choice: the fewest answers it allows (at least one), no blank.
function choices(election) {
  return election.questions.map((question) => {
    const selected = Math.max(question.min, 1);
    const row = question.answers.map((_, i) => (i < selected ? 1 : 0));
    return question.blank ? [0, ...row] : row;
  });
}

async function run(what) {
  const protocol = await load("protocol.js");
  const { readArchive, verifyArchive } = await load("verify.js");
  const bytes = readFileSync(archivePath);
  const record = readArchive(bytes);
  const setup = JSON.parse(new TextDecoder().decode(record.events[0].payload));
  const electionRaw = record.data.get(setup.election);
  const ballots = record.events.filter((event) => event.type === "Ballot").map((event) => event.payload);
  if (what === "make") {
    const election = protocol.parseElection(electionRaw);
    const plaintexts = choices(election);
    const times = [];
    for (let i = 0; i < 11; i += 1) {
      const credential = protocol.newCredential();
      const start = cpu();
      protocol.makeBallot(electionRaw, credential, plaintexts);
      times.push(cpu() - start);
    }
    return { first: times[0], then: mean(times.slice(1)) };
  }
  if (what === "check") {
    const election = protocol.parseElection(electionRaw);
    const start = cpu();
    for (const ballot of ballots) protocol.checkBallot(election, ballot);
    return { perBallot: (cpu() - start) / ballots.length, ballots: ballots.length };
  }
  const start = cpu();
  const report = verifyArchive(bytes);
  return { perBallot: (cpu() - start) / report.ballotsCast, ballots: report.ballotsCast };
}

if (measure) {
  process.stdout.write(JSON.stringify(await run(measure)));
} else {
  const child = (what) =>
    JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), archivePath, modules, what]));
  const made = child("make");
  const checked = child("check");
  const verified = child("verify");
  const ms = (value) => `${value.toFixed(1)} ms`;
  console.log(`makeBallot: first ${ms(made.first)}, then ${ms(made.then)} each`);
  console.log(`checkBallot: ${ms(checked.perBallot)} per ballot (${checked.ballots} ballots)`);
  console.log(`verifyArchive: ${ms(verified.perBallot)} per ballot (${verified.ballots} ballots)`);
}
