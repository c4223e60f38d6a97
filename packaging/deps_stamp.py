"""Print the dependency stamp for the launchers: a hash of pyproject.toml and the torch choice.

The launchers reinstall only when this differs from the stamp saved after the last install.
Usage: python packaging/deps_stamp.py TORCH_VERSION FLAVOUR
"""

import hashlib
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[1]
digest = hashlib.sha256((root / "pyproject.toml").read_bytes())
digest.update(f"torch={sys.argv[1]} flavour={sys.argv[2]}".encode())
print(digest.hexdigest())
