"""Graph -> Graph passes, run in the order ``pipeline.PIPELINE`` lists.  Imports ``ir``."""
from .canonicalize import canonicalize
from .fold_constants import fold_constants
from .fuse import fuse
from .pipeline import PIPELINE, Pass, run_pipeline
from .rewrite import rewrite
from .schedule import schedule
from .stabilize import stabilize
