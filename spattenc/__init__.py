"""spattenc: a compiler for accelerator performance models.

    import spattenc
    spec = spattenc.load("specs/spatten_cascade.spt")      # see docs/api.md
"""
from spattenc._version import __version__
from spattenc.ir.errors import SpecError

__all__ = ["Spec", "SpecError", "load", "__version__"]


def __getattr__(name: str):
    """spattenc.load and spattenc.Spec, from the api module on first use (it imports numpy,
    which a bare `import spattenc` need not pay for)."""
    if name in ("load", "Spec"):
        from spattenc import api

        return getattr(api, name)
    raise AttributeError(f"module 'spattenc' has no attribute {name!r}")
