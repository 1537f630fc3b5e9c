"""Submissions written by independent testers from the handout alone (issue 11).

Testers who never saw the grader or the reference wrote correct submissions (kept verbatim as
whole files under ``strangers/<name>/``) and mistaken ones, stored in ``strangers/catalogue.json``
as text patches on the correct submission each was derived from (or, for the third tester, whole
folders and notebooks, verbatim), with the tester's own description, further mistakes found later
(``also``) and, optionally, text the feedback of a part must contain (``mention``).
``STRANGERS_CORRECT`` must get full marks; each of ``STRANGERS_WRONG`` must lose points in the
parts listed (naming the catalogue keys given). ``STRANGERS_DISPUTED`` are submissions a tester
marked wrong that the handout's definitions make correct; each entry says why, and they must get
full marks too.
"""

from __future__ import annotations

import json

from . import HERE, Spec

_ENTRIES = json.loads((HERE / "strangers" / "catalogue.json").read_text(encoding="utf-8"))


def _spec(entry: dict) -> Spec:
    description = f"tester {entry['tester']}: {entry['description']}"
    for also in entry.get("also", ()):  # a further mistake found after the tester's description
        description += f"; also: {also}"
    if entry.get("decision"):
        description += f" ({entry['decision']})"
    return Spec(f"stranger-{entry['name']}", description, base=f"strangers/{entry['base']}",
                patches=tuple(tuple(p) for p in entry["patches"]),
                lose={part: tuple(keys) for part, keys in entry["lose"].items()},
                mention={part: tuple(texts) for part, texts in entry.get("mention", {}).items()})


STRANGERS_CORRECT = tuple(_spec(e) for e in _ENTRIES if e["verdict"] == "correct")
STRANGERS_WRONG = tuple(_spec(e) for e in _ENTRIES if e["verdict"] == "wrong")
STRANGERS_DISPUTED = tuple(_spec(e) for e in _ENTRIES if e["verdict"] == "disputed")
