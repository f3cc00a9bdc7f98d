// The examination form, built entirely from GET /v1/schema (the data dictionary): no field list here.
// Empty means unknown: an empty input or the "unknown" option is left out of the record (= null),
// never sent as 0 or as "normal".

import { clear, el } from "./dom.js";

const UNKNOWN = "unknown";

export function fieldId(name) {
  return `f-${name}`;
}

function errorId(name) {
  return `e-${name}`;
}

function helpId(name) {
  return `h-${name}`;
}

function rangeHint(field) {
  if (!field.range) return null;
  const [lo, hi] = field.range;
  return `${lo}–${hi}`;
}

function control(field) {
  const common = {
    id: fieldId(field.name),
    name: field.name,
    "aria-describedby": `${helpId(field.name)} ${errorId(field.name)}`,
    "aria-required": field.required ? "true" : null,
    dataset: { type: field.type },
  };
  if (field.type === "bool" || field.type === "category") {
    const options = field.type === "bool"
      ? [["true", "yes"], ["false", "no"]]
      : field.values.map((v) => [v, v.replaceAll("_", " ")]);
    const first = field.required ? el("option", { value: "", text: "— choose —" }) : el("option", { value: "", text: UNKNOWN });
    return el("select", common, first, options.map(([value, text]) => el("option", { value, text })));
  }
  if (field.type === "float" || field.type === "int") {
    return el("input", {
      ...common,
      type: "number",
      inputmode: field.type === "int" ? "numeric" : "decimal",
      step: field.type === "int" ? "1" : "any",
      min: field.range ? field.range[0] : null, // hints for the spinner; the form is novalidate,
      max: field.range ? field.range[1] : null, // so the server, not the browser, judges the value
      placeholder: field.required ? "" : UNKNOWN,
      autocomplete: "off",
    });
  }
  // Free text is only the identifier: ask for a study code so that names stay out of the request.
  return el("input", { ...common, type: "text", placeholder: "study code, never a name", autocomplete: "off" });
}

function helpText(field) {
  const bits = [];
  if (field.unit) bits.push(field.unit);
  const range = rangeHint(field);
  if (range && field.unit !== "MRC 0–5") bits.push(`range ${range}`);
  return bits.join(" · ");
}

function fieldBlock(field) {
  const label = el("label", { for: fieldId(field.name), class: "field-label" }, field.label,
    field.required ? el("span", { class: "req", text: " (required)" }) : null);
  if (field.description) label.title = field.description;
  return el("div", { class: `field field-${field.type}`, dataset: { field: field.name } },
    label,
    control(field),
    el("p", { class: "help", id: helpId(field.name), text: [helpText(field), field.description].filter(Boolean).join(" — ") }),
    el("p", { class: "field-error", id: errorId(field.name), hidden: true }));
}

function mrcGrid(fields, title) {
  const at = (limb, level, side) => fields.find((f) => f.grid.limb === limb && f.grid.level === level && f.grid.side === side);
  const sides = ["left", "right"];
  const head = el("tr", {}, el("th", { scope: "col", text: "Region" }),
    sides.map((s) => el("th", { scope: "col", id: `mrc-col-${s}`, text: s === "left" ? "Left" : "Right" })));
  const rows = [];
  for (const limb of ["arm", "leg"]) {
    for (const level of ["proximal", "distal"]) {
      const rowId = `mrc-row-${limb}-${level}`;
      const cells = sides.map((side) => {
        const field = at(limb, level, side);
        if (!field) return el("td", {}, "—");
        const input = control(field);
        input.setAttribute("aria-label", field.label);
        return el("td", {}, el("div", { class: "field", dataset: { field: field.name } }, input,
          el("p", { class: "help sr-only", id: helpId(field.name), text: field.description || "MRC grade 0–5" }),
          el("p", { class: "field-error", id: errorId(field.name), hidden: true })));
      });
      rows.push(el("tr", {}, el("th", { scope: "row", id: rowId, text: `${cap(limb)} ${level}` }), cells));
    }
  }
  return el("table", { class: "mrc-grid" },
    el("caption", {}, title, el("span", { class: "hint", text: " MRC 0–5 (0 = no contraction, 5 = normal); decimals allowed for 4−/4+" })),
    el("thead", {}, head), el("tbody", {}, rows));
}

function cap(word) {
  return word[0].toUpperCase() + word.slice(1);
}

export function buildForm(container, schema) {
  clear(container);
  for (const section of schema.sections) {
    const members = schema.fields.filter((f) => f.section === section.id);
    if (!members.length) continue;
    const fieldset = el("fieldset", { class: `section section-${section.id}` },
      el("legend", {}, section.title, section.note ? el("span", { class: "legend-note", text: ` (${section.note})` }) : null));
    const groups = new Map();
    for (const f of members) {
      const key = f.group || "";
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(f);
    }
    for (const [group, groupFields] of groups) {
      if (groupFields.every((f) => f.grid)) {
        fieldset.append(mrcGrid(groupFields, group));
        continue;
      }
      const grid = el("div", { class: "fields" }, groupFields.map(fieldBlock));
      fieldset.append(group ? el("div", { class: "group" }, el("h3", { class: "group-title", text: group }), grid) : grid);
    }
    container.append(fieldset);
  }
}

// Read the form into a record. Returns {record, problems}: problems are local parse failures only
// (text in a number box); every rule of the contract is checked by the server.
export function collect(form, schema) {
  const record = {};
  const problems = {};
  for (const field of schema.fields) {
    const input = form.elements.namedItem(field.name);
    if (!input) continue;
    const raw = input.value.trim();
    if (input.type === "number" && input.validity.badInput) {
      problems[field.name] = "enter a number, or leave it empty for unknown";
      continue;
    }
    if (raw === "") continue; // unknown -> null
    if (field.type === "bool") record[field.name] = raw === "true";
    else if (field.type === "float" || field.type === "int") record[field.name] = Number(raw);
    else record[field.name] = raw;
  }
  return { record, problems };
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) {
    node.hidden = true;
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".field.invalid")) node.classList.remove("invalid");
  const summary = form.querySelector("#error-summary");
  summary.hidden = true;
  clear(summary.querySelector("ul"));
}

// Show {path: reason} next to each field; paths that are not fields go to the summary only.
export function showErrors(form, problems, labels) {
  const summary = form.querySelector("#error-summary");
  const list = summary.querySelector("ul");
  let first = null;
  for (const [path, reason] of Object.entries(problems)) {
    const name = path.split(".").pop();
    const input = form.querySelector(`#${CSS.escape(fieldId(name))}`);
    const label = labels.get(name) || path;
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.closest(".field")?.classList.add("invalid");
      const message = form.querySelector(`#${CSS.escape(errorId(name))}`);
      message.textContent = reason;
      message.hidden = false;
      first ??= input;
      list.append(el("li", {}, el("a", { href: `#${fieldId(name)}`, text: `${label}: ${reason}` })));
    } else {
      list.append(el("li", { text: `${label}: ${reason}` }));
    }
  }
  summary.hidden = false;
  const target = first || summary;
  target.scrollIntoView({ block: "center" }); // the field with its row label in view, not at the very edge
  target.focus({ preventScroll: true });
}
