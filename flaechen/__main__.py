"""``python -m flaechen``: the same command line as the ``flaechen`` script (e.g. under a profiler)."""

import sys

from flaechen.cli import main

if __name__ == "__main__":
    sys.exit(main())
