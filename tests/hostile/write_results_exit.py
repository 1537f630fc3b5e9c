"""Write a full-marks results.json wherever it might be read, then os._exit(0) at import."""
import json
import os

FAKE = {"score": 100.0, "output": "PWNED: full marks", "tests": [
    {"name": "everything", "score": 100.0, "max_score": 100.0, "status": "passed"}]}
for path in ("__ROOT__/results/results.json", "/autograder/results/results.json", "results.json",
             "../results.json", "/tmp/results.json"):
    try:
        with open(path, "w") as fh:
            json.dump(FAKE, fh)
    except OSError:
        pass
os._exit(0)
