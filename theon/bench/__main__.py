"""``python3 -m theon.bench compile ...``: the same as ``theon bench compile ...``."""
import sys

from . import main

sys.exit(main(sys.argv[1:]))
