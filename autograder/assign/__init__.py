"""``autograder assign``: generate the student assignment from the reference solution.

Authoring happens once, in ``solutions/``: the reference modules carry ``# BEGIN SOLUTION`` /
``# END SOLUTION`` markers (see :mod:`autograder.assign.markers`), ``assignment.json`` lists the
files, parts and notebook cells (see :mod:`autograder.assign.manifest`), and ``public_cases.py``
the public cases (see :mod:`autograder.assign.cases`). Everything students see is generated.
"""

from autograder.assign.api import (
    GenerationResult,
    check_assignment,
    default_out_dir,
    generate_assignment,
    render_assignment,
)
from autograder.assign.markers import parse_markers

__all__ = [
    "generate_assignment",
    "check_assignment",
    "render_assignment",
    "default_out_dir",
    "GenerationResult",
    "parse_markers",
]
