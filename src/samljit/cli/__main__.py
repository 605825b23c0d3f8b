"""``python -m samljit.cli``: the ``samljit`` console script."""

if __name__ == "__main__":  # pragma: no cover - run as a subprocess by the tests
    from . import main

    raise SystemExit(main())
