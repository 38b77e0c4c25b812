"""Entry point of ``python -m bounds``."""

import sys

from bounds.cli import main

sys.exit(main())
