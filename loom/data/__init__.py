"""Data: schemas, bit-packed tables, encoders and readers."""

from __future__ import annotations

from loom.data.bits import pack_bits, popcount, row_mask, unpack_bits
from loom.data.encode import cut_points, default_memory_limit, label_text
from loom.data.schema import KINDS, FeatureSpec, Kind, Schema, label_value
from loom.data.table import BitTable

__all__ = [
    "KINDS",
    "BitTable",
    "FeatureSpec",
    "Kind",
    "Schema",
    "cut_points",
    "default_memory_limit",
    "label_text",
    "label_value",
    "pack_bits",
    "popcount",
    "row_mask",
    "unpack_bits",
]
