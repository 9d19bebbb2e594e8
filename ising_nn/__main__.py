import sys

from ising_nn.cli import main

sys.exit(main())
