"""`python -m s3lite`: the command line."""

import sys

from .cli import main

sys.exit(main())
