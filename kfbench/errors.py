"""The one exception type that reaches the user as a single line."""


class KfbenchError(Exception):
    """A user-facing error: bad input, missing files, unknown names. The CLI prints it as one line."""


class BadSourceError(KfbenchError):
    """A video or frame file that cannot be read or no longer matches its manifest (skippable with --skip-bad)."""


def one_line(message: str) -> str:
    """``message`` as one printable line: newlines become spaces, undecodable file-name bytes show as \\xNN."""
    text = " ".join(message.split("\n"))
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that no file name produced
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
