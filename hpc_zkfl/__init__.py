"""hpc-zkfl: federated learning with a Groth16 (BN254) proof of every node's update."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("hpc-zkfl")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
