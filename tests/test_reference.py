"""The committed sweep results the chapters load: found in the checkout, hashes current."""

import pytest

from scalinglaws.data import download, committed_results


@pytest.mark.parametrize("name", sorted(committed_results.RESULTS_SHA256))
def test_committed_results_match_their_recorded_sha256(name):
    path = committed_results.sweep_results(name)
    assert path == committed_results.CHECKOUT / "results" / name / "results.jsonl"
    assert download.sha256_of(path) == committed_results.RESULTS_SHA256[name], (
        f"results/{name}/results.jsonl changed: update RESULTS_SHA256 in scalinglaws/data/committed_results.py")


def test_an_unknown_sweep_is_refused_with_the_names_there_are():
    with pytest.raises(ValueError, match="no committed results named 'gpu'; the book commits: cpu, pilot/lr, fixed-horizon, demo, demo-amd-epyc"):
        committed_results.sweep_results("gpu")


def test_without_a_checkout_the_file_is_fetched_by_url_and_hash(tmp_path, monkeypatch):
    """Opened alone (no checkout, no installed copy), the chapter downloads the same bytes; here from a mirror."""
    name = "demo"
    source = committed_results.CHECKOUT / "results" / name / "results.jsonl"
    url = f"{committed_results.RAW_URL}/results/{name}/results.jsonl"
    mirrored = tmp_path / "mirror" / download.relative_path(url)
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(source.read_bytes())
    monkeypatch.setattr(committed_results, "CHECKOUT", tmp_path / "no-checkout")
    monkeypatch.setattr(committed_results, "PACKAGED", tmp_path / "no-package")  # nor an installed copy
    monkeypatch.setenv(download.MIRROR_ENV, str(tmp_path / "mirror"))
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    fetched = committed_results.sweep_results(name)
    assert fetched.read_bytes() == source.read_bytes() and fetched.is_relative_to(tmp_path / "cache")
