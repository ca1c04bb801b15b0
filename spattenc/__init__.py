"""spattenc: a compiler for accelerator performance models (the package facade).

    import spattenc
    spec = spattenc.load("specs/spatten_cascade.spt")      # see docs/api.md
"""
from spattenc._version import __version__
from spattenc.ir.errors import SpecError
from spattenc.api import Spec, load

__all__ = ["Spec", "SpecError", "load", "__version__"]
