"""The two feature modes, and the fields that separate them (the one place this is written).

A classifier used at the first visit must not see information that exists only after a therapeutic
trial: the response to IVIg or corticosteroids is a supportive criterion of both guidelines
(EFNS/PNS 2010 MMN, S7/P4; EAN/PNS 2021 CIDP, supportive criteria), so a model trained with it would
look better than it can be at presentation. ``"at-presentation"`` drops every feature derived from
:data:`TREATMENT_FIELDS`; ``"with-treatment"`` keeps them.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

Mode = Literal["at-presentation", "with-treatment"]

MODES: tuple[Mode, ...] = ("at-presentation", "with-treatment")
"""Allowed values of the ``mode`` parameter, the first being the default."""

TREATMENT_FIELDS: tuple[str, ...] = ("ivig_response", "corticosteroid_response")
"""Contract fields known only after a therapeutic trial (data dictionary, "treatment response")."""
NO_TRIAL = "not_given"
"""Their value saying no trial was made: information (unlike a null), but no response to read."""


def check_mode(mode: str) -> Mode:
    """Return ``mode`` if it is one of :data:`MODES`, else raise a ``ValueError`` naming the choices."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}; got {mode!r}")
    return mode


def fields_unseen_in(mode: str) -> tuple[str, ...]:
    """The contract fields a model of ``mode`` must not read (the treatment responses at presentation): what
    the exact posterior excludes when it is the yardstick of such a model."""
    return () if check_mode(mode) == "with-treatment" else TREATMENT_FIELDS


@cache
def fields_for_mode(fields: tuple[str, ...], mode: str) -> tuple[str, ...]:
    """``fields`` without the treatment fields when ``mode`` is ``"at-presentation"``."""
    if check_mode(mode) == "with-treatment":
        return fields
    return tuple(f for f in fields if f not in TREATMENT_FIELDS)
