import sys

from iamguard.cli import main

sys.exit(main())
