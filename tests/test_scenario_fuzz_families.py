"""A short run of every family of ``benchmarks/fuzz_scenarios.py`` (the long run is 10,000+
cases): binary files, wrong encodings, deep nesting, alias bombs, huge numbers, NaN/inf,
YAML object tags and Python code either load and sample or fail with FILE:LINE:COL,
within a time limit, and nothing in them is executed."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from conftest import REPO

# Importable by name, so the checker's child process (spawned) can import it too.
sys.path.insert(0, str(REPO / "benchmarks"))
import fuzz_scenarios as fuzz


@pytest.fixture(scope="module")
def checker(tmp_path_factory):
    checker = fuzz.Checker(tmp_path_factory.mktemp("fuzz"), timeout_s=20.0)
    yield checker
    checker.close()


@pytest.mark.parametrize("family", list(fuzz.FAMILIES))
def test_family_loads_or_fails_with_a_position(family, checker):
    marker = Path("/tmp/scenegen-fuzz-pwned")
    marker.unlink(missing_ok=True)
    counts, failures, _ = fuzz.run_family(family, 25, checker, seed=1)
    assert sum(counts.values()) == 25
    assert failures == []
    assert not marker.exists()


def test_the_checker_reports_hangs_and_recovers(tmp_path):
    checker = fuzz.Checker(tmp_path, timeout_s=0.001)
    try:
        assert checker.check(b"version: 1\nname: x\n")[0] == "hang"  # no child answers this fast
    finally:
        checker.close()
    checker = fuzz.Checker(tmp_path, timeout_s=20.0)
    try:
        assert checker.check(b"version: 1\nname: x\n") == ("loaded", "")
        outcome, detail = checker.check(b"version: 1\nname: x\nroad: {lanes: 99}\n")
        assert outcome == "rejected" and ":3:" in detail
    finally:
        checker.close()


def test_a_megabyte_of_yaml_values_is_refused_quickly(tmp_path):
    from scenegen.errors import ScenarioError
    from scenegen.scenario import load_scenario
    from scenegen.scenario.schema import MAX_FILE_BYTES, MAX_YAML_NODES

    path = tmp_path / "wide.yaml"
    body = "version: 1\nname: n\nroad: [" + "1," * 400_000 + "]\n"
    assert len(body) < MAX_FILE_BYTES
    path.write_text(body)
    started = time.perf_counter()
    with pytest.raises(ScenarioError, match=f"more than {MAX_YAML_NODES} YAML values"):
        load_scenario(path)
    # Without the limit, pure-Python YAML takes about a minute on this file.
    assert time.perf_counter() - started < 10
