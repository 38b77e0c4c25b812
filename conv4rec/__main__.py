import sys

from conv4rec.cli import main

sys.exit(main())
