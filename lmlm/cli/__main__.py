"""``python -m lmlm.cli``: the ``lmlm`` command without its console script."""

import sys

from lmlm.cli import main

sys.exit(main())
