import sys

from nablanet.cli import main

sys.exit(main())
