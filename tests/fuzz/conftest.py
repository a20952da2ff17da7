"""The fuzzer's year: one database per test module, built once and restored from a
pristine copy after every run that may have written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzzing import Harness, memory_cap


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """Sydöstra Skåne's 2027 in a folder of its own, which is also the current folder (so
    relative paths and the default database land there, never in the repository)."""
    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp, memory_cap():
        mp.chdir(root)
        for name in ("FINSAM_DATABASE_URL", "FINSAM_USER", "FINSAM_NOW", "FINSAM_MAIL_URL"):
            mp.delenv(name, raising=False)
        harness = Harness(root)
        harness.build_year()
        yield harness
