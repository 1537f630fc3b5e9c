"""The NPG homework autograder: generate assignments, grade submissions safely, build bundles."""

__version__ = "0.1.0"
