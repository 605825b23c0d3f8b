"""``python -m samljit.cli``: the ``samljit`` console script."""

from . import main

raise SystemExit(main())  # pragma: no cover - run as a subprocess by the tests
