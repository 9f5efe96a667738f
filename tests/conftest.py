"""Fixtures shared by the whole test suite."""
import os
import random

import pytest

from hpc_zkfl.backends import (
    BackendUnavailableError,
    get_backend,
    gpu_available,
    registered_backends,
)

from small_run import SMALL_RUN, toml_text

SEED_ENV = "HPC_ZKFL_TEST_SEED"

@pytest.fixture
def small_run_toml():
    """toml_text of SMALL_RUN with overrides: small_run_toml({"attack": {...}, ...})."""
    def make(overrides: dict = None) -> str:
        sections = {name: dict(keys) for name, keys in SMALL_RUN.items()}
        for name, keys in (overrides or {}).items():
            sections.setdefault(name, {}).update(keys)
        return toml_text(sections)
    return make
DEFAULT_SEED = 20240601


def _test_seed() -> int:
    raw = os.environ.get(SEED_ENV)
    if raw is None:
        return DEFAULT_SEED
    try:
        return int(raw, 0)
    except ValueError:
        raise pytest.UsageError(f"{SEED_ENV} must be an integer, got {raw!r}") from None


def pytest_report_header(config):
    return f"hpc-zkfl test seed: {_test_seed()} (set {SEED_ENV} to change it)"


@pytest.fixture(scope="session")
def rng() -> random.Random:
    """A random.Random seeded from HPC_ZKFL_TEST_SEED (the seed is printed in the header)."""
    return random.Random(_test_seed())


@pytest.fixture(params=registered_backends())
def backend(request):
    """Each registered backend in turn; one that cannot run on this machine is skipped.

    The cpu backend must always run, so its failure to load is an error, not a skip.
    """
    name = request.param
    try:
        return get_backend(name)
    except BackendUnavailableError as exc:
        if name == "cpu":
            raise
        pytest.skip("no CUDA device" if name == "gpu" and not gpu_available() else str(exc))
