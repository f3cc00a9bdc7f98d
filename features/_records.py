"""Record dicts -> columns: the data layer's reader (:func:`data.column_readers.read_records`), re-exported."""

from __future__ import annotations

from mmn_ddx.data import read_records

__all__ = ["read_records"]
