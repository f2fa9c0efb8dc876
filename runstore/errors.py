"""The one exception a reader raises for a damaged run file."""


class BrokenRun(Exception):
    """A file of a run cannot be used; the message names the file and the reason."""
