"""Hypothesis profiles: "ci" (the default; fixed budget, derandomized) and "thorough".

And one BLAS thread for the tests, as for the examples and benchmarks: the tests' matrices
are small, and on a busy machine BLAS threads waiting for each other make them many times
slower. Examples run as subprocesses inherit the setting through the environment.
"""

import os

from hypothesis import HealthCheck, settings

from minigrad.blas import limit_blas_threads

limit_blas_threads(1, quiet=True)

settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", max_examples=400, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
