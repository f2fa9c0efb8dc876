"""``python -m dashboard COMMAND``: the dashboard's commands that are not the server itself.

    python -m dashboard publish --out space/   # a read-only Hugging Face Space of chosen runs (dashboard.publish)

Serving is ``python -m dashboard.serve`` (``make serve``).
"""

from __future__ import annotations

import sys

USAGE = "usage: python -m dashboard publish --out DIR [--artifacts-dir DIR] [--runs RUN ... | --groups GROUP ... | --suite NAME] [--max-mb N]"


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; return its exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    if not arguments or arguments[0] in ("-h", "--help"):
        print(USAGE + "\n(serving: python -m dashboard.serve)", file=sys.stderr if not arguments else sys.stdout)
        return 2 if not arguments else 0
    if arguments[0] != "publish":
        print(f"python -m dashboard: unknown command {arguments[0]!r}; the one command is publish.\n{USAGE}",
              file=sys.stderr)
        return 2
    from dashboard.publish import main as publish

    return publish(arguments[1:])


if __name__ == "__main__":
    sys.exit(main())
