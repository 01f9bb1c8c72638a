// ecitizen's progressive enhancements. Every journey works without this file; it only
// makes things nicer when JavaScript runs. Loaded as an ES module from base.html.

import { initAll } from "./govuk-frontend.min.js";

initAll();

// ---------------------------------------------------------------------------------------
// Session-timeout warning (WCAG 2.2.1 Timing Adjustable)
//
// base.html marks <body> with the idle limit and the warning period when someone is signed
// in. Shortly before the limit we ask the server how long is really left (another tab may
// have kept the session alive; that request is not counted as activity). When the warning
// period has begun we open a modal dialog with a countdown and a "Stay signed in" button,
// which extends the session without leaving the page. At zero we go to the "signed out"
// page. Without JavaScript the server still signs people out and explains why.
// ---------------------------------------------------------------------------------------

const MINUTE = 60;
// Screen readers hear the time left at most this often; the visible countdown ticks every second.
const ANNOUNCE_EVERY_SECONDS = 30;

class SessionTimeout {
  constructor(body, dialog) {
    this.idle = Number(body.dataset.sessionIdle);
    this.warning = Number(body.dataset.sessionWarning);
    this.statusUrl = body.dataset.sessionStatusUrl;
    this.endedUrl = body.dataset.sessionEndedUrl;
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.stay = dialog.querySelector("#session-timeout-stay");
    this.visual = dialog.querySelector("[data-timeout-visual]");
    this.live = dialog.querySelector("[data-timeout-live]");
    this.template = dialog.dataset.messageTemplate || "%(time)s";
    this.lang = document.documentElement.lang || "en";
    this.checkTimer = null;
    this.tickTimer = null;
    this.deadline = 0;
    this.lastAnnounced = null;
    this.returnFocusTo = null;
    this.extending = false;
    this.closingByUs = false;

    this.form.addEventListener("submit", (event) => this.onSubmit(event));
    dialog.addEventListener("cancel", (event) => {
      // Esc means "stay signed in", never "ignore the warning".
      event.preventDefault();
      this.extend();
    });
    dialog.addEventListener("close", () => {
      const byUs = this.closingByUs;
      this.closingByUs = false;
      this.onClose();
      // Closed by the browser (Esc without a cancellable cancel event): still "stay signed in".
      if (!byUs) this.extend();
    });
    dialog.addEventListener("keydown", (event) => this.trapFocus(event));
    document.addEventListener("visibilitychange", () => {
      // Timers are throttled in background tabs: check again when the page is seen.
      if (document.visibilityState === "visible" && !this.dialog.open && this.dueAt && Date.now() >= this.dueAt) {
        this.check();
      }
    });
  }

  start() {
    this.schedule(this.idle - this.warning);
  }

  schedule(seconds) {
    window.clearTimeout(this.checkTimer);
    const delay = Math.max(0, seconds) * 1000;
    this.dueAt = Date.now() + delay;
    this.checkTimer = window.setTimeout(() => this.check(), delay);
  }

  async check() {
    let secondsLeft;
    try {
      const response = await fetch(this.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      });
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        // The server has already signed this session out.
        secondsLeft = 0;
      } else if (response.ok) {
        secondsLeft = Number((await response.json()).seconds_left);
      } else {
        secondsLeft = NaN;
      }
    } catch {
      // The server could not be reached: try again shortly.
      secondsLeft = NaN;
    }
    if (Number.isNaN(secondsLeft)) {
      this.schedule(Math.min(30, this.warning));
      return;
    }
    if (secondsLeft <= 0) {
      this.end();
    } else if (secondsLeft > this.warning) {
      this.schedule(secondsLeft - this.warning);
    } else {
      this.open(secondsLeft);
    }
  }

  open(secondsLeft) {
    this.deadline = Date.now() + secondsLeft * 1000;
    this.lastAnnounced = null;
    const message = this.message(secondsLeft);
    this.visual.textContent = message;
    // The dialog's description; later changes are announced through the live region.
    this.live.textContent = message;
    this.lastAnnounced = secondsLeft;
    if (!this.dialog.open) {
      this.returnFocusTo = document.activeElement;
      if (typeof this.dialog.showModal === "function") {
        this.dialog.showModal();
      } else {
        this.dialog.setAttribute("open", "");
      }
      // Focus the dialog itself so its title and message are read; Tab then reaches
      // "Stay signed in".
      this.dialog.focus();
    }
    window.clearInterval(this.tickTimer);
    this.tickTimer = window.setInterval(() => this.tick(), 1000);
  }

  tick() {
    const secondsLeft = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    if (secondsLeft <= 0) {
      this.end();
      return;
    }
    this.visual.textContent = this.message(secondsLeft);
    if (this.lastAnnounced - secondsLeft >= ANNOUNCE_EVERY_SECONDS) {
      this.live.textContent = this.message(secondsLeft);
      this.lastAnnounced = secondsLeft;
    }
  }

  // "We will sign you out in 2 minutes." / "... in 45 seconds.", in the page's language.
  message(secondsLeft) {
    let value = secondsLeft;
    let unit = "second";
    if (secondsLeft >= MINUTE) {
      value = Math.ceil(secondsLeft / MINUTE);
      if (secondsLeft === MINUTE) value = 1;
      unit = "minute";
    }
    let time;
    try {
      time = new Intl.RelativeTimeFormat(this.lang, { numeric: "always" }).format(value, unit);
    } catch {
      time = `${value} ${unit}${value === 1 ? "" : "s"}`;
    }
    return this.template.replace("%(time)s", time);
  }

  onSubmit(event) {
    event.preventDefault();
    this.extend();
  }

  async extend() {
    if (this.extending) return;
    this.extending = true;
    try {
      const token = this.form.querySelector("input[name=csrfmiddlewaretoken]");
      const response = await fetch(this.form.action, {
        method: "POST",
        body: new FormData(this.form),
        headers: {
          Accept: "application/json",
          "X-CSRFToken": token ? token.value : "",
          "X-Requested-With": "fetch",
        },
        credentials: "same-origin",
        redirect: "manual",
      });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const secondsLeft = Number((await response.json()).seconds_left);
      if (!(secondsLeft > 0)) throw new Error("not extended");
      this.close();
      this.schedule(Math.max(1, secondsLeft - this.warning));
    } catch {
      // Fall back to an ordinary form submission: the server extends and redirects back.
      this.form.submit();
    } finally {
      this.extending = false;
    }
  }

  close() {
    window.clearInterval(this.tickTimer);
    if (this.dialog.open) {
      this.closingByUs = true;
      if (typeof this.dialog.close === "function") {
        this.dialog.close();
      } else {
        this.dialog.removeAttribute("open");
        this.closingByUs = false;
        this.onClose();
      }
    }
  }

  onClose() {
    window.clearInterval(this.tickTimer);
    this.live.textContent = "";
    const target = this.returnFocusTo;
    this.returnFocusTo = null;
    if (target && typeof target.focus === "function" && document.contains(target) && target !== document.body) {
      target.focus();
    }
  }

  end() {
    window.clearInterval(this.tickTimer);
    window.clearTimeout(this.checkTimer);
    window.location.assign(this.endedUrl);
  }

  // showModal() makes the rest of the page inert, but Tab can still leave for the browser's
  // own controls: keep it cycling inside the dialog.
  trapFocus(event) {
    if (event.key !== "Tab") return;
    const focusable = Array.from(
      this.dialog.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled])"),
    );
    if (!focusable.length) return;
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    const active = document.activeElement;
    if (event.shiftKey && (active === first || active === this.dialog)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && active === last) {
      event.preventDefault();
      first.focus();
    }
  }
}

function initSessionTimeout() {
  const body = document.body;
  const dialog = document.getElementById("session-timeout-dialog");
  if (!dialog || !body.dataset.sessionIdle || !body.dataset.sessionStatusUrl) return;
  const timeout = new SessionTimeout(body, dialog);
  if (!(timeout.idle > 0) || !(timeout.warning >= 0)) return;
  timeout.start();
}

initSessionTimeout();
