"""The clinical setting in words: which population the probabilities are for and what that changes."""

from __future__ import annotations

from collections.abc import Mapping


def percentages(prior: Mapping[str, float]) -> str:
    """e.g. "MMN 15 %, MND 70 %, CIDP 5 %, MADSAM 10 %"."""
    return ", ".join(f"{d} {100 * p:.0f} %" for d, p in prior.items())


def setting_note(name: str, pre_test: Mapping[str, float], *, is_default: bool, additive: bool,
                 set_population: str) -> str:
    """One paragraph: the setting, its pre-test probabilities, the base term, and the prediction set's scale."""
    chosen = ("the default: the intended-use population the model is documented for; name your clinic's "
              "setting to get its pre-test probabilities" if is_default else "as requested")
    explanation = ("The findings' SHAP contributions to the scores do not depend on the setting; only the base "
                   "(prior) term of the explanation moves by log(pre-test / training prior). Their effects on the odds "
                   "(what their words say) move with it, as the probabilities do." if additive else
                   "The explanation is shown on the training population's probability scale: a change of "
                   "prior is not additive on it.")
    sets = ("The prediction set's membership is decided on the training population's probabilities (its "
            "coverage was calibrated there, per diagnosis); this setting's most probable diagnosis is always in it "
            "(added if those probabilities leave it out) and listed first, the rest in this setting's order."
            if set_population == "training" else
            f"The prediction set is computed for the '{set_population}' setting.")
    return (f"Probabilities for the '{name}' setting ({chosen}), pre-test probabilities {percentages(pre_test)}. "
            f"{explanation} {sets}")
