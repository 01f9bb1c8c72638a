// The voting booth (voting/vote.html). Everything that touches the voter's choices
// happens here, on the voter's device: the credential is checked against the voter's
// public credential (a typing mistake or another election's credential is caught before
// anything is made), the choices are encrypted for the election's key and signed, and the
// encrypted ballot's tracker is shown before it is cast. "Check it and throw it away" is a
// Benaloh challenge: the ballot's secret randomness is revealed, the encryption is
// re-done from the choices and compared, and that ballot is discarded.
//
// Only the encrypted ballot leaves the page (the cast form). The credential and the
// choices are never sent.

import { makeBallot, normaliseCredential, parseElection, publicCredential, reencryptMatches } from "../protocol.js";

const data = JSON.parse(document.getElementById("booth-data").textContent);
const texts = document.getElementById("booth-texts").dataset;
const booth = document.getElementById("booth");
const election = parseElection(data.election);
const title = document.title;
let credential = null;
let made = null;

document.querySelectorAll("[data-needs-js]").forEach((node) => (node.hidden = true));
booth.hidden = false;

function show(stepId) {
  booth.querySelectorAll("[data-step]").forEach((step) => (step.hidden = step.id !== stepId));
  const heading = document.getElementById(stepId).querySelector("h2");
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

function errors(list) {
  const summary = document.getElementById("booth-errors");
  const items = document.getElementById("booth-error-list");
  items.replaceChildren();
  for (const { text, target } of list) {
    const li = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#${target}`;
    link.textContent = text;
    li.append(link);
    items.append(li);
  }
  summary.hidden = list.length === 0;
  // As on pages the server checks: the title starts with "Error:" while errors show.
  document.title = list.length ? `${texts.errorTitle} ${title}` : title;
  if (list.length) summary.focus();
}

// A field's error message, shown in its form group and read with the field: ``field`` is
// the input, or the question's fieldset, whose aria-describedby names the message.
function fieldError(groupId, errorId, text, field) {
  const group = document.getElementById(groupId);
  const message = document.getElementById(errorId);
  group.classList.toggle("govuk-form-group--error", Boolean(text));
  message.hidden = !text;
  message.querySelector("span:last-child").textContent = text || "";
  if (field) {
    if (field.tagName === "INPUT") field.classList.toggle("govuk-input--error", Boolean(text));
    const described = new Set((field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    if (text) described.add(errorId);
    else described.delete(errorId);
    field.setAttribute("aria-describedby", [...described].join(" "));
  }
}

// Step 1: the credential.
document.getElementById("credential-continue").addEventListener("click", () => {
  const input = document.getElementById("credential");
  const typed = input.value.trim();
  let problem = "";
  const normalised = typed ? normaliseCredential(typed) : null;
  if (!typed) problem = texts.credentialEmpty;
  else if (!normalised) problem = texts.credentialWrong;
  else if (publicCredential(election.uuid, normalised) !== data.publicCredential) problem = texts.credentialOther;
  fieldError("credential-group", "credential-error", problem, input);
  errors(problem ? [{ text: problem, target: "credential" }] : []);
  if (problem) return;
  credential = normalised;
  show("step-choices");
});

// Step 2: the choices, as 0/1 per answer with the blank flag first where blank is allowed.
function readChoices() {
  const problems = [];
  const plaintexts = [];
  const review = [];
  booth.querySelectorAll("[data-question]").forEach((group, index) => {
    const question = election.questions[index];
    const position = group.dataset.question;
    const inputs = [...group.querySelectorAll("input")];
    const blank = inputs.some((input) => input.value === "blank" && input.checked);
    const chosen = inputs.filter((input) => input.checked && input.value !== "blank").map((input) => Number(input.value));
    let problem = "";
    if (!blank && (chosen.length < question.min || chosen.length > question.max)) {
      problem = question.min === 1 && question.max === 1 ? texts.chooseOne : texts.chooseRange.replace("%(min)s", question.min).replace("%(max)s", question.max);
    }
    fieldError(`question-${position}-group`, `question-${position}-error`, problem, group.closest("fieldset"));
    if (problem) problems.push({ text: problem, target: inputs[0].id });
    const votes = question.answers.map((_, answer) => (chosen.includes(answer + 1) ? 1 : 0));
    plaintexts.push(question.blank ? [blank ? 1 : 0, ...(blank ? votes.map(() => 0) : votes)] : votes);
    const labels = inputs.filter((input) => input.checked).map((input) => document.querySelector(`label[for="${input.id}"]`).textContent);
    review.push({ question: group.closest("fieldset").querySelector("legend").textContent, answer: blank ? texts.blank : labels.join(", ") || "—" });
  });
  return { problems, plaintexts, review };
}

let current = null;
document.getElementById("choices-continue").addEventListener("click", () => {
  const read = readChoices();
  errors(read.problems);
  if (read.problems.length) return;
  current = read;
  const list = document.getElementById("review-list");
  list.replaceChildren();
  for (const { question, answer } of read.review) {
    const row = document.createElement("div");
    row.className = "govuk-summary-list__row";
    const key = document.createElement("dt");
    key.className = "govuk-summary-list__key";
    key.textContent = question;
    const value = document.createElement("dd");
    value.className = "govuk-summary-list__value";
    value.textContent = answer;
    row.append(key, value);
    list.append(row);
  }
  show("step-review");
});

booth.querySelectorAll("[data-back]").forEach((button) =>
  button.addEventListener("click", () => {
    made = null;
    show(button.dataset.back);
  }),
);

// Step 3: encrypt (the page stays responsive: the work starts after the status is shown).
document.getElementById("encrypt").addEventListener("click", (event) => {
  const button = event.currentTarget;
  const status = document.getElementById("encrypting");
  button.disabled = true;
  status.textContent = texts.encrypting;
  setTimeout(() => {
    try {
      made = makeBallot(election, credential, current.plaintexts);
      document.getElementById("tracker").textContent = made.tracker;
      document.getElementById("ballot").value = made.ballot;
      document.querySelector("#step-cast details").open = false;
      status.textContent = "";
      show("step-cast");
    } catch (error) {
      status.textContent = texts.failed;
    } finally {
      button.disabled = false;
    }
  }, 30);
});

// The Benaloh challenge: reveal, re-check, discard.
document.getElementById("challenge").addEventListener("click", () => {
  if (!made) return;
  const ok = reencryptMatches(election, made.ballot, current.plaintexts, made.randomness);
  document.getElementById("checked-heading").textContent = ok ? texts.checkedOk : texts.checkedBad;
  document.getElementById("checked-text").textContent = ok ? texts.checkedOkText : texts.checkedBadText;
  const list = document.getElementById("checked-list");
  list.replaceChildren(...document.getElementById("review-list").cloneNode(true).children);
  document.getElementById("checked-data").value = JSON.stringify({ ballot: JSON.parse(made.ballot), choices: current.plaintexts, randomness: made.randomness });
  document.getElementById("ballot").value = "";
  made = null;
  show("step-checked");
});

document.getElementById("cast-form").addEventListener("submit", (event) => {
  if (!document.getElementById("ballot").value) event.preventDefault();
});
