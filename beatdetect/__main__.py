"""``python -m beatdetect`` runs the command line, like the ``beatdetect`` script."""

import sys

from .cli import main

sys.exit(main())
