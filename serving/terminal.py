"""Rich rendering of one :class:`~serving.result.PredictionResult` for the terminal.

The terminal view renders the very object the HTTP API returns, nothing recomputed: probability bars,
the prediction set, the findings that drove the prediction with their sentences, the criteria next to
the model, the next most informative test, the warnings, the notice and the audit trail.
"""

from __future__ import annotations

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from mmn_ddx.serving.result import CriteriaSummary, Explanation, PredictionResult

BAR_WIDTH = 30
TOP_FINDINGS = 8
_STATUS_STYLE = {"met": "green", "not met": "red", "not assessable": "yellow"}


def bar(probability: float, width: int = BAR_WIDTH) -> str:
    """A text bar: ``probability`` of ``width`` cells filled (eighths for the last cell)."""
    eighths = round(max(0.0, min(1.0, probability)) * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width)


def percent(p: float) -> str:
    """A probability for the headline and the table, as the web page writes it: never "100 %" or "0 %" for one that
    is not."""
    value = 100 * p
    return "<1 %" if 0 < value < 1 else ">99 %" if 99 < value < 100 else f"{value:.0f} %"


def probabilities(result: PredictionResult) -> Table:
    title = f"Probabilities (calibrated) in the '{result.setting.name}' setting"
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", show_edge=False)
    table.add_column("diagnosis", no_wrap=True)
    table.add_column("", no_wrap=True)
    table.add_column("p", justify="right", no_wrap=True)
    table.add_column("set", justify="center", no_wrap=True)
    in_set = set(result.prediction_set.diagnoses)
    for diagnosis, p in sorted(result.probabilities.items(), key=lambda item: -item[1]):
        style = "bold" if diagnosis == result.predicted_diagnosis else ""
        table.add_row(Text(diagnosis, style=style), Text(bar(p), style="cyan"), percent(p),
                      "✓" if diagnosis in in_set else "")
    return table


def prediction_set(result: PredictionResult) -> Text:
    ps = result.prediction_set
    return Text.assemble(("Prediction set: ", "bold"), "{" + ", ".join(ps.diagnoses) + "}",
                         f" at {100 * ps.coverage:.0f} % coverage, from the {ps.population} population's "
                         "probabilities ",
                         (f"({ps.method})", "dim"))


def setting(result: PredictionResult) -> Text:
    """The clinical setting, its pre-test probabilities and what it changes (the result's own note)."""
    return Text.assemble(("Setting: ", "bold"), result.setting.name, " - ", (result.setting.note, "dim"))


def findings(explanation: Explanation, predicted: str, k: int = TOP_FINDINGS) -> Table:
    """The top findings, each with the number its words state: its effect on the predicted class (on the log-odds
    scale the change of the class's log-odds against the others, not its SHAP contribution to the class's score,
    which can have the other sign). The additive SHAP sum is the caption's."""
    log_odds = explanation.scale == "log-odds"
    quantity = f"effect on the odds of {predicted}, log-odds" if log_odds else f"contribution to p({predicted})"
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title_justify="left",
                  title=f"Findings that drove the prediction ({quantity})")
    table.add_column(predicted, justify="right", no_wrap=True)
    table.add_column("finding", ratio=1)
    for finding in explanation.by_finding[:k]:
        value = finding.effects[predicted]
        table.add_row(Text(f"{value:+.2f}", style="green" if value > 0 else "red"),
                      Text.assemble((finding.label, "bold"), "\n", finding.sentence))
    base, out = explanation.base_values[predicted], explanation.outputs[predicted]
    shift = explanation.base_shift
    moved = "" if not shift else f", of which {shift[predicted]:+.2f} from the setting's pre-test probabilities"
    hidden = f"{len(explanation.by_finding) - min(k, len(explanation.by_finding))} smaller findings not shown. "
    if not log_odds:
        table.caption = f"{hidden}Base {base:+.2f}{moved} + contributions = {out:+.2f} ({explanation.method})."
        return table
    table.caption = (f"{hidden}Effect: the change of {predicted}'s log-odds against the other diagnoses when the "
                     "finding is taken out; effects do not add up. SHAP contributions to the score of "
                     f"{predicted} (softmax logit) do: base {base:+.2f}{moved} + contributions = {out:+.2f} "
                     f"({explanation.method}; each finding's in --json).")
    return table


def criteria(summary: CriteriaSummary, predicted: str) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, title="Published criteria next to the model",
                  title_justify="left")
    table.add_column("criteria", ratio=2)
    table.add_column("verdict", ratio=1)
    table.add_column("points to", no_wrap=True)
    table.add_column("elements met / not met / not assessable", ratio=1)
    for verdict in summary.verdicts:
        counts = [sum(e.status == s for e in verdict.elements) for s in ("met", "not met", "not assessable")]
        table.add_row(verdict.criteria, verdict.verdict + (f" ({verdict.variant})" if verdict.variant else ""),
                      verdict.maps_to or "-",
                      Text.assemble((str(counts[0]), "green"), " / ", (str(counts[1]), "red"), " / ",
                                    (str(counts[2]), "yellow")))
    agree = {True: ("agree", "green"), False: ("disagree", "bold red"), None: ("no single criteria label", "yellow")}
    word, style = agree[summary.agrees_with_model]
    readings = ", ".join(f"{reading} {label}" for reading, label in summary.rule_based_labels.items())
    table.caption = (f"Model: {predicted}; criteria: {summary.rule_based_label} ({word}). "
                     f"Rule-based label by reading: {readings}. {summary.note}")
    table.caption_style = style
    return table


def next_test(result: PredictionResult) -> RenderableType:
    test = result.next_test
    if test is None:
        return Text("Next test: none of the remaining tests is expected to change the prediction.", style="dim")
    return Panel(
        Text.assemble((test.label, "bold"), (f"  (fills: {', '.join(test.fields or [test.field])})\n", "dim"),
                      test.rationale),
        title="Next most informative test", title_align="left", border_style="cyan")


def warnings(result: PredictionResult) -> RenderableType:
    if not result.warnings:
        return Text("")
    return Panel("\n".join(f"• {w.message}" for w in result.warnings), title="Warnings", title_align="left",
                 border_style="yellow")


def audit(result: PredictionResult) -> Text:
    a = result.audit
    version = f" v{a.model_version}" if a.model_version else ""
    alias = f" @{a.model_alias}" if a.model_alias else ""
    return Text(f"Model {a.model_name}{version}{alias} ({a.mode}) from {a.model_uri}; training data "
                f"{a.training_data_digest}, generator {a.generator_version or '-'}, world "
                f"{(a.training_world_digest or '-')[:12]}; code {a.code_version}; "
                f"schema v{a.schema_version}; bundle manifest {(a.manifest_digest or '-')[:16]}", style="dim")


def render(result: PredictionResult) -> Group:
    """The whole explained prediction, top to bottom in the order a clinician reads it."""
    who = f" for {result.patient_id}" if result.patient_id else ""
    head = Text.assemble(("Predicted: ", "bold"), (result.predicted_diagnosis, "bold cyan"),
                         f" ({percent(result.probabilities[result.predicted_diagnosis])}){who}")
    return Group(
        head, probabilities(result), prediction_set(result), setting(result), Text(""),
        findings(result.explanation, result.predicted_diagnosis), Text(""),
        criteria(result.criteria, result.predicted_diagnosis), Text(""),
        next_test(result), warnings(result),
        Text(result.notice, style="bold red"), audit(result),
    )
