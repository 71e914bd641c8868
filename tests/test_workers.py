"""The one forked pool of the heavy steps (overlaps, settlement bodies, background tiles)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from flaechen.workers import fork_map, resolve_workers


def test_workers_inherit_the_job_and_return_in_order():
    job = np.arange(1_000_000)  # inherited by the forked workers, not sent to them
    pids = fork_map(lambda j, task: (int(j[task]), os.getpid()), list(range(0, 1_000_000, 50_000)), job=job, workers=2)
    assert [v for v, _ in pids] == list(range(0, 1_000_000, 50_000))
    assert os.getpid() not in {pid for _, pid in pids}  # ran in the workers


def test_one_worker_runs_here():
    pids = fork_map(lambda j, task: os.getpid(), [1, 2, 3], job=None, workers=1)
    assert set(pids) == {os.getpid()}


def test_workers_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        resolve_workers(0)
    assert resolve_workers(None) >= 1
