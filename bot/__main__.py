"""`python -m bot` and the `quetma` console script."""

from __future__ import annotations

import sys

from bot.app.cli import main


def cli() -> None:
    sys.exit(main())


if __name__ == "__main__":
    cli()
