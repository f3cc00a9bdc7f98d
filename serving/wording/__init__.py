"""Words at the edge: the one place that turns a prediction's facts into the sentences a clinician reads.

Core code returns facts - a patient's values and derived features (:mod:`features.findings`), SHAP
contributions, out-of-distribution codes with values and training ranges
(:class:`training.artifact.bundle.Atypical`), criteria statuses - and this package words them:
:mod:`.findings` states a patient's value of each finding, :mod:`.messages` the directions, warnings and
the criteria's note, :mod:`.fields` names a contract field as the form labels it. The result JSON, the CLI and
the web page all show these same sentences.
"""

from mmn_ddx.serving.wording import messages
from mmn_ddx.serving.wording.fields import field_label, field_labels, field_unit, sentence_case
from mmn_ddx.serving.wording.findings import DESCRIBERS, describe_finding
from mmn_ddx.serving.wording.messages import NEUTRAL, direction, directions, joined, sentence

__all__ = ["DESCRIBERS", "NEUTRAL", "describe_finding", "direction", "directions", "field_label", "field_labels",
           "field_unit", "joined", "messages", "sentence", "sentence_case"]
