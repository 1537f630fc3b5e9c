"""``autograder batch``: grade a whole class from a folder or a Gradescope export.

Writes a gradebook (``grades.csv``), Gradescope results per submission and an HTML report with
plots; parallel, resumable, and each submission isolated as in ``autograder grade``.
"""

from __future__ import annotations

from .api import BatchSummary, not_gradable_results, run_batch
from .gradebook import Row
from .inputs import Entry, Submitter, snapshot

__all__ = ["run_batch", "BatchSummary", "Row", "Entry", "Submitter", "snapshot", "not_gradable_results"]
