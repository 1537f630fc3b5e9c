"""Grading suites. A suite is a module ``autograder.suites.<name>`` with ``build(seeds) -> Suite``."""
