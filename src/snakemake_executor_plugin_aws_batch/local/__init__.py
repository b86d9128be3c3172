"""A local AWS Batch for tests and demos: moto's server with jobs that really run.

Needs the ``[local]`` extra. The executor plugin itself never imports this package.
"""

from __future__ import annotations

from .batch import LocalBatch
from .knobs import KNOB_NAMES

__all__ = ["KNOB_NAMES", "LocalBatch"]
