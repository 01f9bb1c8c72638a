// "Verify this election" (voting/verify.html): downloads the public archive and checks it
// in a Web Worker (build/voting/verify-worker.js, the same checks as ecitizen-verify),
// showing progress and then what was checked, or what failed.

const root = document.getElementById("verifier");
const texts = document.getElementById("verify-texts").dataset;
const status = document.getElementById("verify-status");
const progress = document.getElementById("verify-progress");
const lines = document.getElementById("verify-lines");
const start = document.getElementById("verify-start");

document.querySelectorAll("[data-needs-js]").forEach((node) => (node.hidden = true));
root.hidden = false;

start.addEventListener("click", async () => {
  start.disabled = true;
  lines.replaceChildren();
  status.textContent = texts.downloading;
  let archive;
  try {
    const response = await fetch(root.dataset.archive, { credentials: "omit" });
    if (!response.ok) throw new Error(String(response.status));
    archive = await response.arrayBuffer();
  } catch (error) {
    status.textContent = `${texts.failed} ${error.message}`;
    start.disabled = false;
    return;
  }
  const worker = new Worker(root.dataset.worker, { type: "module" });
  worker.onmessage = ({ data }) => {
    if (data.type === "progress") {
      progress.max = Math.max(1, data.total);
      progress.value = data.done;
      status.textContent = texts.checking.replace("%(done)s", data.done).replace("%(total)s", data.total);
      return;
    }
    worker.terminate();
    start.disabled = false;
    if (data.type === "done") {
      progress.value = progress.max;
      for (const line of data.lines) {
        const item = document.createElement("li");
        item.textContent = line;
        lines.append(item);
      }
      status.textContent = texts.passed;
    } else {
      status.textContent = `${texts.failed} ${data.message}`;
    }
  };
  worker.postMessage({ archive }, [archive]);
});
