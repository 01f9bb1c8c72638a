// A trustee's page (voting/trustee.html): the three steps of the key ceremony and the
// decryption of the tally, done on the trustee's device with the key file they keep.
// Step 1 makes the key file (a secret seed) and offers it for saving; the other steps and
// the decryption read it from the file the trustee chooses. Only what the protocol makes
// public, or encrypts for the other trustees, is posted; the key file is never sent.

import { decryptionKey, newSeed, partialDecryption, step1Certificate, step3Polynomial, step5Voutput } from "../trustee.js";

const data = JSON.parse(document.getElementById("ceremony-data").textContent);
const texts = document.getElementById("ceremony-texts").dataset;
const ceremony = document.getElementById("ceremony");
const send = document.getElementById("send");
const message = document.getElementById("message");
const working = document.getElementById("working");

document.querySelectorAll("[data-needs-js]").forEach((node) => (node.hidden = true));
ceremony.hidden = false;

function later(work) {
  working.textContent = texts.working;
  setTimeout(() => {
    try {
      message.value = work();
      working.textContent = texts.ready;
      send.disabled = false;
      send.focus();
    } catch (error) {
      keyError(texts.wrongFile);
    }
  }, 30);
}

function keyError(text) {
  working.textContent = "";
  const group = document.getElementById("key-group");
  const error = document.getElementById("key-error");
  if (!group) return;
  group.classList.toggle("govuk-form-group--error", Boolean(text));
  error.hidden = !text;
  error.querySelector("span:last-child").textContent = text;
  const file = document.getElementById("key-file");
  if (text) file.setAttribute("aria-describedby", "key-error");
  else file.removeAttribute("aria-describedby");
}

if (data.task === 1) {
  const kept = document.getElementById("kept");
  let seed = null;
  document.getElementById("make-key").addEventListener("click", (event) => {
    seed = newSeed();
    const link = document.getElementById("key-download");
    link.href = URL.createObjectURL(new Blob([`${seed}\n`], { type: "text/plain" }));
    link.download = texts.fileName;
    event.currentTarget.hidden = true;
    document.getElementById("saved").hidden = false;
    link.focus();
  });
  kept.addEventListener("change", () => {
    send.disabled = true;
    message.value = "";
    if (kept.checked && seed) later(() => step1Certificate(seed));
  });
} else {
  const file = document.getElementById("key-file");
  file.addEventListener("change", async () => {
    send.disabled = true;
    message.value = "";
    keyError("");
    if (!file.files.length) return keyError(texts.noFile);
    const seed = (await file.files[0].text()).trim();
    if (!/^[1-9A-HJ-NP-Za-km-z]{22}$/.test(seed)) return keyError(texts.wrongFile);
    if (data.decrypting) {
      later(() => partialDecryption(data.election, data.tally, decryptionKey(seed, data.encryptedKey, data.certificates)));
    } else if (data.task === 2) {
      later(() => step3Polynomial(seed, data.certificates, data.threshold));
    } else {
      later(() => step5Voutput(seed, data.certificates, data.vinput));
    }
  });
}
