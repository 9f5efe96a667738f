"""The MPI transport of a federated run (the only package that imports mpi4py)."""
