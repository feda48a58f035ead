"""The one exception type that reaches the user as a single line."""


class KfbenchError(Exception):
    """A user-facing error: bad input, missing files, unknown names. The CLI prints it as one line."""


class BadSourceError(KfbenchError):
    """A video or frame file that cannot be read or no longer matches its manifest (skippable with --skip-bad)."""
