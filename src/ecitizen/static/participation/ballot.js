// The running total of a participatory budget's ballot (participation/ballot.html), kept
// up to date as the resident ticks projects. Loaded as an ES module by the ballot page
// only. The page works without it: its "Update total" button asks the server for the same
// sentence, and the server checks every ballot again whatever this script says.
//
// Everything it writes comes from the page, so that it reads exactly as the server's
// sentence does, in every language:
//   form[data-ballot]        "knapsack" (a total against the heading's amount) or "approval"
//   data-amount              the heading's amount in minor units (pence)
//   data-money-sample        1,234,567.89 written as the server writes amounts in the
//                            reader's language ("£1,234,567.89", "1 234 567,89 £"...):
//                            the symbol, the separators and their places are read from it
//   data-text-within/-over   knapsack sentences with %(chosen)s, %(amount)s, %(left)s, %(over)s
//   data-text-count, -most   approval: a sentence with %(count)s and %(most)s
//   input[data-cost]         each project's cost in minor units
//   [data-ballot-total]      the sentence (aria-live="polite": screen readers hear changes)
//   [data-ballot-update]     the "Update total" button, hidden while this script runs it

const SAMPLE_DIGITS = "123456789";

// How the sample writes 1234567.89: what comes before and after the number, the thousands
// separator and the decimal mark. Digits other than 0-9 are not expected (the server
// writes Western digits in every language).
function moneyFormat(sample) {
  const first = sample.search(/\d/);
  let last = -1;
  for (let i = sample.length - 1; i >= 0; i -= 1) {
    if (/\d/.test(sample[i])) {
      last = i;
      break;
    }
  }
  if (first < 0) return null;
  const number = sample.slice(first, last + 1);
  const digits = number.replace(/\D/g, "");
  const decimals = digits.length - 7; // 1234567 has 7 whole digits
  if (!SAMPLE_DIGITS.startsWith(digits.slice(0, 9)) || decimals < 0) return null;
  const group = number.slice(1, number.indexOf("2"));
  const mark = decimals > 0 ? number.slice(number.lastIndexOf("7") + 1, number.length - decimals) : "";
  return { prefix: sample.slice(0, first), suffix: sample.slice(last + 1), group, mark, decimals };
}

function formatMoney(minor, format) {
  const scale = 10 ** format.decimals;
  const whole = Math.floor(minor / scale);
  const fraction = String(minor % scale).padStart(format.decimals, "0");
  const grouped = String(whole).replace(/\B(?=(\d{3})+(?!\d))/g, format.group);
  const number = format.decimals > 0 ? `${grouped}${format.mark}${fraction}` : grouped;
  return `${format.prefix}${number}${format.suffix}`;
}

function fill(template, values) {
  return template.replace(/%\((\w+)\)s/g, (match, name) => (name in values ? values[name] : match));
}

function setUp(form) {
  const output = form.querySelector("[data-ballot-total]");
  const boxes = Array.from(form.querySelectorAll("input[type=checkbox][data-cost]"));
  if (!output || boxes.length === 0) return;
  const kind = form.dataset.ballot;
  const format = moneyFormat(form.dataset.moneySample || "");
  if (kind === "knapsack" && !format) return; // leave the server's total and button alone
  const amount = Number(form.dataset.amount || 0);

  const render = () => {
    const ticked = boxes.filter((box) => box.checked);
    let text;
    if (kind === "knapsack") {
      const chosen = ticked.reduce((sum, box) => sum + Number(box.dataset.cost || 0), 0);
      const values = {
        chosen: formatMoney(chosen, format),
        amount: formatMoney(amount, format),
        left: formatMoney(Math.max(amount - chosen, 0), format),
        over: formatMoney(Math.max(chosen - amount, 0), format),
      };
      text = fill(chosen > amount ? form.dataset.textOver : form.dataset.textWithin, values);
    } else {
      text = fill(form.dataset.textCount, { count: String(ticked.length), most: form.dataset.most || "" });
    }
    if (output.textContent !== text) output.textContent = text;
  };

  for (const box of boxes) box.addEventListener("change", render);
  // The button is not needed while this script keeps the total. GOV.UK's display-none
  // class as well as [hidden]: .govuk-button's display would win over [hidden]'s alone.
  const update = form.querySelector("[data-ballot-update]");
  if (update) {
    update.hidden = true;
    update.classList.add("govuk-!-display-none");
  }
  render();
}

for (const form of document.querySelectorAll("form[data-ballot]")) setUp(form);
