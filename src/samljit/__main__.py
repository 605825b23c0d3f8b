"""``python -m samljit``: the ``samljit`` console script (see docs/cli.md)."""

from .cli import main

raise SystemExit(main())
