"""A run's own stream of torch's global random generator."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

_GLOBAL_RNG = threading.Lock()


class RunRandomness:
    """A run's own stream of torch's global CPU generator.

    Some library optimizers draw from torch's global generator inside step() (AdaHessian's
    and SophiaH's Hutchinson probes, BSAM's noise). Each run keeps its own generator state,
    seeded, and swaps it in for the length of a step under a lock, so a run is reproducible
    whatever other runs do at the same time. torch.optim's classes draw nothing: their runs
    (`needed=False`) skip the lock.
    """

    def __init__(self, seed: int = 0, *, needed: bool = True) -> None:
        self.state = torch.Generator().manual_seed(seed).get_state()
        self.needed = needed

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        if not self.needed:
            yield
            return
        with _GLOBAL_RNG:
            outside = torch.get_rng_state()
            torch.set_rng_state(self.state)
            try:
                yield
            finally:
                self.state = torch.get_rng_state()
                torch.set_rng_state(outside)
