"""`python -m spattenc`: the same as the `spattenc` console script."""

import sys

from spattenc.cli import main

sys.exit(main())
