// Page controller: load the schema and model info, build the form, submit, show the result or the
// server's field-level errors. All validation rules live on the server (the data dictionary);
// the page only reports what the server says, next to the field it names.

import { clear, el, getJSON } from "./dom.js";
import { buildForm, clearErrors, collect, showErrors } from "./form.js";
import { renderResult, showResultPanel } from "./result.js";

const state = { schema: null, labels: new Map(), busy: false };

async function loadModelInfo() {
  const line = document.getElementById("model-line");
  try {
    const info = await getJSON("/v1/model");
    const bits = [`Model ${info.name}`, info.version ? `version ${info.version}` : null, info.alias ? `(${info.alias})` : null,
      info.training_data_digest ? `· training data ${String(info.training_data_digest).slice(0, 19)}` : null,
      info.training_world ? `· world ${String(info.training_world.digest).slice(0, 12)}` : null,
      `· schema ${info.schema_version}`];
    line.textContent = bits.filter(Boolean).join(" ");
    document.getElementById("model-card").textContent = info.model_card || "(no model card)";
    for (const node of document.querySelectorAll("[data-notice]")) node.textContent = info.notice;
    buildSettings(info);
    return info;
  } catch (error) {
    line.textContent = "Model information unavailable.";
    return null;
  }
}

// The clinical setting selector: the server's settings with their pre-test probabilities, its default selected.
function buildSettings(info) {
  const select = clear(document.getElementById("setting"));
  for (const [name, prior] of Object.entries(info.settings || {})) {
    const mix = Object.entries(prior).map(([dx, p]) => `${dx} ${Math.round(100 * p)} %`).join(", ");
    const option = el("option", { value: name, text: `${name} (${mix})${name === info.default_setting ? " — default" : ""}` });
    if (name === info.default_setting) { option.selected = true; option.defaultSelected = true; }
    select.append(option);
  }
}

// The at-presentation model ignores treatment responses (they are known only after a trial): say so.
function noteUnusedTreatment() {
  const legend = document.querySelector(".section-treatment_response legend");
  if (legend && !legend.querySelector(".unused")) {
    legend.append(el("span", { class: "legend-note unused", text: " — not used by the served at-presentation model" }));
  }
}

async function loadSchema() {
  const status = document.getElementById("schema-status");
  try {
    state.schema = await getJSON("/v1/schema");
  } catch (error) {
    status.textContent = "Could not load the record schema from the server; reload the page.";
    status.classList.add("error");
    return false;
  }
  for (const f of state.schema.fields) state.labels.set(f.name, f.label);
  buildForm(document.getElementById("sections"), state.schema);
  status.textContent = "";
  status.hidden = true;
  return true;
}

// A failed prediction leaves no result on screen: the one shown is of the record before this one.
function failed(form, problems, labels) {
  showResultPanel(false);
  showErrors(form, problems, labels);
}

function generalError(form, message) {
  failed(form, { request: message }, new Map([["request", "Request"]]));
}

// The server answered; a fault while drawing its answer is this page's, not the network's: say so, and show
// no half-drawn result (the panel may hold parts of it, or of the previous patient's).
function show(form, body) {
  try {
    renderResult(body, state.labels);
  } catch (error) {
    console.error(error);
    generalError(form, "The server answered, but this page could not display its answer (a fault in the page, "
      + "not in the prediction). Reload the page and try again; if it persists, please report it.");
    return;
  }
  document.getElementById("result").scrollIntoView({ behavior: "smooth", block: "start" });
}

async function submit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (state.busy || !state.schema) return;
  clearErrors(form);
  const { record, problems } = collect(form, state.schema);
  if (Object.keys(problems).length) {
    failed(form, problems, state.labels);
    return;
  }
  const button = document.getElementById("predict");
  state.busy = true;
  button.disabled = true;
  button.textContent = "Predicting…";
  form.setAttribute("aria-busy", "true");
  try {
    const setting = document.getElementById("setting").value;
    const url = setting ? `/v1/predict?setting=${encodeURIComponent(setting)}` : "/v1/predict";
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(record),
      });
    } catch {
      generalError(form, "The server could not be reached. Is `mmn-ddx serve` still running?");
      return;
    }
    let body = null;
    try { body = await response.json(); } catch { body = null; }
    if (response.ok && body) {
      show(form, body);
    } else if (response.status === 422 && body?.problems) {
      failed(form, body.problems, state.labels);
    } else {
      generalError(form, body?.message || `The server answered HTTP ${response.status}.`);
    }
  } finally {
    state.busy = false;
    button.disabled = false;
    button.textContent = "Predict";
    form.removeAttribute("aria-busy");
  }
}

function reset(event) {
  const form = event.currentTarget;
  clearErrors(form);
  showResultPanel(false);
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("exam");
  form.addEventListener("submit", submit);
  form.addEventListener("reset", reset);
  // Ready only once both the form and the model's settings are built: the setting selector is part of the form.
  Promise.all([loadSchema(), loadModelInfo()]).then(([formBuilt, info]) => {
    if (info?.mode === "at-presentation") noteUnusedTreatment();
    if (formBuilt) document.getElementById("exam").dataset.ready = "true";
  });
});
