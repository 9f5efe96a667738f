"""Results of a run: the HDF5 file the root writes (and resumes from), and reports on it.

`hpc_zkfl.io.report` (matplotlib) is imported on demand, not here, so that the ranks that only
need RejectReason or the writer do not pay for matplotlib.
"""
from .results import (PHASES, REASON_NAMES, RejectReason, Results, ResultsFileError,
                      ResultsFileExistsError, ResultsWriter, RoundRecord, collect_metadata,
                      load_results, read_config_toml)

__all__ = ["PHASES", "REASON_NAMES", "RejectReason", "Results", "ResultsFileError",
           "ResultsFileExistsError", "ResultsWriter", "RoundRecord", "collect_metadata",
           "load_results", "read_config_toml"]
