"""The one exception type that reaches the user as a single line."""


class KfbenchError(Exception):
    """A user-facing error: bad input, missing files, unknown names. The CLI prints it as one line."""
