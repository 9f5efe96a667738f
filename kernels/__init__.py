"""CUDA sources of the gpu backend (field.cuh, curve.cuh, msm.cu, ntt.cu, fr_ops.cu), installed
as the package data of ``hpc_zkfl.kernels``; see hpc_zkfl/backends/kernel_runtime.py."""
