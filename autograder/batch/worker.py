"""Entry point of a batch worker process: ``python -m autograder.batch.worker FD`` (see :mod:`.pool`)."""

from __future__ import annotations

import sys

from .pool import worker_main

if __name__ == "__main__":
    worker_main(int(sys.argv[1]))
