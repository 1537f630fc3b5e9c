"""Errors shared by every part of the autograder."""


class UserError(Exception):
    """A problem with what a user (student, TA, instructor) gave us.

    The message says what was wrong and what to do; the CLI prints it without a traceback.
    """
