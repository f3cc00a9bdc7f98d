// Waterfall of SHAP contributions by clinical finding, hand-written SVG (no chart library, no CDN).
//
// Reading it: the first bar is the base value (the model's average score for the class), each
// finding moves the score right (raises it) or left (lowers it), the last bar is the model's score for
// this patient. Additivity holds exactly: base + contributions = score. On the log-odds scale the score
// is the class's softmax logit: a bar to the right raises the score, not necessarily the probability
// (another class's score may rise more), so the axis says "score", never "towards the class".

import { clear, signed, svg } from "./dom.js";

const MAX_ROWS = 10;
const ROW = 30;
const VALUE_W = 52;
const CHAR_W = 6.6; // average glyph width at the chart's 12px font, for wrapping labels

// Lay out for the real container width, so text stays at its CSS size on a phone and a laptop.
function layout(container) {
  const width = Math.max(320, Math.round(container.clientWidth || 560));
  const labelW = Math.round(Math.min(270, width * 0.44));
  return { width, labelW, barW: width - labelW - VALUE_W - 8 };
}

// A label in at most two lines of n characters (a word boundary when there is one), ellipsis after.
function wrap(text, n) {
  if (text.length <= n) return [text];
  let cut = text.lastIndexOf(" ", n);
  if (cut < n / 2) cut = n;
  const rest = text.slice(cut).trim();
  return [text.slice(0, cut).trim(), rest.length > n ? `${rest.slice(0, n - 1)}…` : rest];
}

// Rows for one class: base, the largest findings, the rest pooled, and the total.
export function waterfallRows(explanation, cls) {
  const findings = explanation.by_finding
    .map((f) => ({ label: f.label, statement: f.statement, value: f.contributions[cls] ?? 0 }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const shown = findings.slice(0, MAX_ROWS);
  const rest = findings.slice(MAX_ROWS);
  const rows = [];
  let running = explanation.base_values[cls];
  const base = explanation.base_shift ? "Base value (average patient, in this setting)" : "Base value (average patient)";
  rows.push({ kind: "base", label: base, start: 0, end: running, value: running });
  for (const f of shown) {
    rows.push({ kind: f.value >= 0 ? "up" : "down", label: f.label, statement: f.statement, start: running, end: running + f.value, value: f.value });
    running += f.value;
  }
  if (rest.length) {
    const sum = rest.reduce((acc, f) => acc + f.value, 0);
    rows.push({ kind: sum >= 0 ? "up" : "down", label: `${rest.length} other findings`, start: running, end: running + sum, value: sum });
    running += sum;
  }
  const output = explanation.outputs[cls];
  rows.push({ kind: "total", label: `Score for ${cls}`, start: 0, end: output, value: output });
  return rows;
}

export function drawWaterfall(container, explanation, cls) {
  clear(container);
  const { width: WIDTH, labelW: LABEL_W, barW: BAR_W } = layout(container);
  const maxChars = Math.floor((LABEL_W - 12) / CHAR_W);
  const rows = waterfallRows(explanation, cls);
  const values = rows.flatMap((r) => [r.start, r.end]);
  let lo = Math.min(0, ...values);
  let hi = Math.max(0, ...values);
  if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.04;
  lo -= pad; hi += pad;
  const x = (v) => LABEL_W + ((v - lo) / (hi - lo)) * BAR_W;
  const height = rows.length * ROW + 40;

  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`, class: "waterfall-svg", role: "img",
    "aria-label": `Contributions to the score for ${cls}, ${explanation.scale} scale`,
  });
  chart.append(svg("line", { x1: x(0), x2: x(0), y1: 0, y2: rows.length * ROW, class: "axis-zero" }));
  rows.forEach((row, i) => {
    const y = i * ROW;
    const left = Math.min(x(row.start), x(row.end));
    const width = Math.max(1.5, Math.abs(x(row.end) - x(row.start)));
    const title = row.statement ? `${row.label}: ${row.statement} (score ${signed(row.value)})` : `${row.label}: ${row.value.toFixed(2)}`;
    const group = svg("g", { class: `wf-row wf-${row.kind}`, "data-kind": row.kind }, svg("title", { text: title }));
    const lines = wrap(row.label, maxChars);
    const label = svg("text", { x: LABEL_W - 8, y: y + ROW / 2 + 4 - (lines.length - 1) * 6.5, class: "wf-label", "text-anchor": "end" });
    lines.forEach((line, k) => label.append(svg("tspan", { x: LABEL_W - 8, dy: k ? 13 : 0, text: line })));
    group.append(label);
    group.append(svg("rect", { x: left, y: y + 7, width, height: ROW - 14, rx: 2, class: "wf-bar" }));
    if (i < rows.length - 1 && row.kind !== "total") {
      const next = x(row.end);
      group.append(svg("line", { x1: next, x2: next, y1: y + ROW - 5, y2: y + ROW + 5, class: "wf-connector" }));
    }
    const shown = row.kind === "up" || row.kind === "down" ? signed(row.value) : row.value.toFixed(2);
    group.append(svg("text", { x: LABEL_W + BAR_W + 6, y: y + ROW / 2 + 4, class: "wf-value", text: shown }));
    chart.append(group);
  });
  const axisY = rows.length * ROW + 14;
  chart.append(svg("text", { x: x(0), y: axisY, class: "wf-axis", "text-anchor": "middle", text: "0" }));
  const [lower, higher] = BAR_W >= 340 ? [`← lowers the ${cls} score`, `raises the ${cls} score →`]
    : BAR_W >= 240 ? ["← lowers the score", "raises the score →"] : ["← lowers", "raises →"];
  chart.append(svg("text", { x: LABEL_W, y: axisY + 16, class: "wf-axis", text: lower }));
  chart.append(svg("text", { x: LABEL_W + BAR_W, y: axisY + 16, class: "wf-axis", "text-anchor": "end", text: higher }));
  container.append(chart);
}
