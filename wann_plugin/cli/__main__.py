"""``python -m wann_plugin.cli ...`` runs the ``wann`` command.

The guard matters: ``mpi4py.futures`` workers import this module under another name.
"""

import sys

from wann_plugin.cli import main

if __name__ == "__main__":
    sys.exit(main())
