// The archive verifier as a Web Worker, so that a page stays responsive while every ballot
// of an election is checked (seconds to minutes). Load it as a module worker:
//   const worker = new Worker(url, { type: "module" });
//   worker.postMessage({ archive: arrayBuffer }, [arrayBuffer]);
// It answers with
//   {type: "progress", done, total}   after each ballot checked
//   {type: "done", lines, result, ballotsCast, ballotsCounted}   when everything verifies
//   {type: "failed", message}         with the first thing that does not

import { verifyArchive } from "./verify.js";

self.onmessage = (event) => {
  const archive = event.data && event.data.archive;
  try {
    if (!(archive instanceof ArrayBuffer || archive instanceof Uint8Array)) {
      throw new Error("no archive was given to verify");
    }
    const report = verifyArchive(new Uint8Array(archive), (done, total) => {
      self.postMessage({ type: "progress", done, total });
    });
    self.postMessage({
      type: "done",
      lines: report.lines,
      result: report.result,
      ballotsCast: report.ballotsCast,
      ballotsCounted: report.ballotsCounted,
    });
  } catch (error) {
    self.postMessage({ type: "failed", message: error && error.message ? error.message : String(error) });
  }
};
