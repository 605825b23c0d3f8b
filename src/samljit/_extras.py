"""The error an optional module raises when the extra that installs its dependency is missing."""

from __future__ import annotations


def missing_extra(module: str, extra: str, error: ImportError) -> ModuleNotFoundError:
    """A ``ModuleNotFoundError`` naming the extra to install, for ``raise ... from error``.

    Args:
        module: the samljit module being imported (its ``__name__``).
        extra: the extra of the ``samljit`` distribution that installs what it needs.
        error: the ``ImportError`` of the missing third-party module.
    """
    missing = (error.name or "").partition(".")[0] or "a dependency"
    return ModuleNotFoundError(
        f"{module} needs {missing!r}, which is installed with samljit's {extra!r} extra: "
        f"pip install 'samljit[{extra}]'",
        name=error.name,
    )
