"""Package layout (the metadata lives in pyproject.toml).

The CUDA sources live at the top of the repository, in kernels/, and install as the package
``hpc_zkfl.kernels``, so the gpu backend finds them with importlib.resources whether the
project is installed from a wheel or in editable mode.
"""
from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["hpc_zkfl", "hpc_zkfl.*"]) + ["hpc_zkfl.kernels"],
    package_dir={"hpc_zkfl.kernels": "kernels"},
    package_data={"hpc_zkfl.kernels": ["*.cu", "*.cuh"]},
)
