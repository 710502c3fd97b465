import sys

from mmoa.cli import main

sys.exit(main())
