import sys

from na64tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
