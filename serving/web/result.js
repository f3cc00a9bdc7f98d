// The result panel: renders one PredictionResult (serving/result.py), the same object the CLI prints.

import { clear, el, pct, signed } from "./dom.js";
import { drawWaterfall } from "./waterfall.js";

const STATUS_TEXT = { met: "met", "not met": "not met", "not assessable": "not assessable" };

function renderProbabilities(result) {
  const list = clear(document.getElementById("probabilities"));
  const ranked = Object.entries(result.probabilities).sort((a, b) => b[1] - a[1]);
  for (const [dx, p] of ranked) {
    const fill = el("span", { class: "bar-fill" });
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    const inSet = result.prediction_set.diagnoses.includes(dx);
    list.append(el("li", { class: `bar${dx === result.predicted_diagnosis ? " is-top" : ""}`, dataset: { diagnosis: dx } },
      el("span", { class: "bar-label", text: dx }),
      el("span", { class: "bar-track", role: "presentation" }, fill),
      el("span", { class: "bar-value", text: pct(p) }),
      el("span", { class: `bar-set${inSet ? " in" : ""}`, text: inSet ? "in set" : "" })));
  }
  const top = ranked[0];
  const who = result.patient_id ? [" for ", el("strong", { id: "result-patient", text: result.patient_id })] : [];
  clear(document.getElementById("headline")).append(
    "Most likely: ", el("strong", { id: "top-diagnosis", text: top[0] }), ` (${pct(top[1])})`, ...who);
}

// The set as the result states it, nothing added: why a diagnosis is in it (the training population's
// probabilities, or the setting's most probable diagnosis added) is the setting note's, shown below it.
function renderPredictionSet(result) {
  const set = result.prediction_set;
  const node = clear(document.getElementById("prediction-set"));
  node.append(`Prediction set at ${Math.round(set.coverage * 100)} % coverage: `,
    el("span", { class: "set" }, set.diagnoses.map((d) => el("span", { class: "chip", text: d }))),
    el("span", { class: "hint", text: ` (${set.method}; from the ${set.population} population's probabilities)` }));
}

function renderSetting(result) {
  const setting = result.setting;
  clear(document.getElementById("setting-note")).append(
    "Setting: ", el("strong", { id: "setting-name", text: setting.name }), ` — ${setting.note}`);
}

// What a bar of the waterfall is: a SHAP contribution to the class's score, additive, which on the log-odds scale
// (the softmax logit) is not the direction of the class's probability.
function waterfallCaption(ex, cls) {
  const shift = ex.base_shift ? `The base value includes ${signed(ex.base_shift[cls])} from the setting's pre-test probabilities. ` : "";
  if (ex.scale !== "log-odds") {
    return `Contributions to the probability of ${cls} (${ex.method}). ${shift}` +
      "Bars to the right raise it, bars to the left lower it; base value plus all bars equals the probability.";
  }
  return `SHAP contributions to the score of ${cls} on the log-odds scale (its softmax logit; ${ex.method}). ${shift}` +
    `Bars to the right raise the ${cls} score, bars to the left lower it; base value plus all bars equals the score. ` +
    `The probability of ${cls} depends on its score against the other diagnoses' scores (softmax), so a bar to the ` +
    `right lowers it when the finding raises another diagnosis' score more: the list below gives each finding's effect ` +
    `on the odds of ${cls}, which its words say.`;
}

// The number beside a finding's words: its effect on the class (log-odds of the class against the others when the
// finding is taken out; on the probability scale its contribution), named so.
function effectCaption(ex, cls) {
  return ex.scale === "log-odds"
    ? `Effect on the log-odds of ${cls}: their change, against the other diagnoses, when the finding is taken out ` +
      `(+ towards ${cls}, − away from it). Effects do not add up; the bars above do.`
    : `Each finding with its contribution to the probability of ${cls}.`;
}

function findingItem(f, cls, scale, words) {
  const v = f.effects[cls] ?? 0;
  const quantity = scale === "log-odds" ? `effect on the log-odds of ${cls}` : `contribution to the probability of ${cls}`;
  return el("li", { class: v >= 0 ? "up" : "down", dataset: { effect: String(v) } },
    el("strong", { class: "finding-label", text: f.label }), " — ",
    el("span", { class: "finding", text: f.statement }), words,
    el("span", { class: "effect", text: ` (${quantity}: ${signed(v)})` }));
}

function renderExplanation(result, cls) {
  const ex = result.explanation;
  const select = document.getElementById("explain-class");
  if (!select.options.length || select.dataset.forResult !== "1") {
    clear(select);
    for (const c of ex.classes) select.append(el("option", { value: c, text: c }));
    select.dataset.forResult = "1";
  }
  select.value = cls;
  document.getElementById("waterfall-caption").textContent = waterfallCaption(ex, cls);
  drawWaterfall(document.getElementById("waterfall"), ex, cls);
  document.getElementById("sentences-caption").textContent = effectCaption(ex, cls);
  const sentences = clear(document.getElementById("sentences"));
  if (cls === result.predicted_diagnosis) {  // the served sentences and order, as the CLI shows them (8)
    for (const f of ex.by_finding.slice(0, 8)) {
      sentences.append(findingItem(f, cls, ex.scale, f.sentence.slice(f.statement.length)));
    }
    return;
  }
  // another class: each finding's effect on that class's odds (the sentences are worded for the predicted class)
  const ranked = [...ex.by_finding].sort((a, b) => Math.abs(b.effects[cls] ?? 0) - Math.abs(a.effects[cls] ?? 0));
  for (const f of ranked.slice(0, 8)) {
    sentences.append(findingItem(f, cls, ex.scale, `: ${(f.effects[cls] ?? 0) >= 0 ? "raises" : "lowers"} the odds of ${cls}`));
  }
}

// labels: field name -> its label on the form (GET /v1/schema), to name the fields an element lacks.
function renderCriteria(result, labels) {
  const c = result.criteria;
  const named = (fields) => [...new Set(fields.map((name) => labels.get(name) || name))].join(", ");
  const node = clear(document.getElementById("criteria"));
  const agree = c.agrees_with_model === null ? "no single criteria label" : c.agrees_with_model ? "agree" : "disagree";
  node.append(el("div", { class: "side-by-side" },
    el("div", { class: "side model-side" }, el("h4", { text: "Model" }),
      el("p", { class: "big", text: result.predicted_diagnosis }),
      el("p", { text: `probability ${pct(result.probabilities[result.predicted_diagnosis])}` })),
    el("div", { class: `side criteria-side agree-${agree.replaceAll(" ", "-")}` }, el("h4", { text: "Criteria (rule-based)" }),
      el("p", { class: "big", id: "criteria-label", text: c.rule_based_label }),
      el("p", { id: "criteria-readings", text: Object.entries(c.rule_based_labels || {})
        .map(([reading, label]) => `${reading}: ${label}`).join(" · ") }),
      el("p", { text: `model and criteria: ${agree}` }))));
  if (c.note) node.append(el("p", { class: "hint", text: c.note }));
  for (const v of c.verdicts) {
    const items = v.elements.map((e) => el("li", { class: `status-${e.status.replaceAll(" ", "-")}` },
      el("span", { class: "el-status", text: STATUS_TEXT[e.status] || e.status }), " ", e.description,
      e.missing?.length ? el("span", { class: "hint", text: ` (unknown: ${named(e.missing)})` }) : null));
    node.append(el("details", { class: "verdict" },
      el("summary", {}, el("strong", { text: v.criteria }), ": ", v.verdict, v.variant ? ` (${v.variant})` : ""),
      el("ul", { class: "elements" }, items)));
  }
}

function renderNextTest(result) {
  const node = clear(document.getElementById("next-test"));
  const t = result.next_test;
  if (!t) {
    node.append(el("p", { text: "No unknown test is expected to change the prediction noticeably." }));
    return;
  }
  node.append(el("p", {}, el("strong", { id: "next-test-label", text: t.label }),
    `: expected change of the top probability ${pct(t.expected_change)}, expected uncertainty reduction ${t.expected_entropy_reduction.toFixed(2)} bits.`),
  el("p", { class: "hint", text: t.rationale }));
}

function renderWarnings(result) {
  const list = clear(document.getElementById("warnings"));
  for (const w of result.warnings) list.append(el("li", { class: `warning warning-${w.code}`, text: w.message }));
  if (!result.warnings.length) list.append(el("li", { text: "None." }));
}

function renderAudit(result) {
  const dl = clear(document.getElementById("audit"));
  for (const [key, value] of Object.entries(result.audit)) {
    dl.append(el("dt", { text: key.replaceAll("_", " ") }), el("dd", { text: value ?? "—" }));
  }
}

// Toggle between the placeholder and a rendered result (a stale result must never stay on screen).
export function showResultPanel(visible) {
  document.getElementById("result-body").hidden = !visible;
  document.getElementById("result-empty").hidden = visible;
  document.getElementById("result").classList.toggle("is-empty", !visible);
}

// labels: field name -> its label on the form, so the result names a field as the form does.
export function renderResult(result, labels = new Map()) {
  for (const node of document.querySelectorAll("[data-notice]")) node.textContent = result.notice;
  renderProbabilities(result);
  renderPredictionSet(result);
  renderSetting(result);
  renderExplanation(result, result.predicted_diagnosis);
  renderCriteria(result, labels);
  renderNextTest(result);
  renderWarnings(result);
  renderAudit(result);
  const select = document.getElementById("explain-class");
  select.onchange = () => renderExplanation(result, select.value);
  let pending = null;
  window.onresize = () => { // redraw the chart for the new width (tablet rotation)
    clearTimeout(pending);
    pending = setTimeout(() => drawWaterfall(document.getElementById("waterfall"), result.explanation, select.value), 150);
  };
  showResultPanel(true);
  // The panel was hidden while the chart was laid out: redraw now that it has a width.
  drawWaterfall(document.getElementById("waterfall"), result.explanation, select.value);
}
