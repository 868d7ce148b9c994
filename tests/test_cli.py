"""`python -m scalinglaws optimal` prints the paper's numbers; bad input gets a clear error."""

import subprocess
import sys

import pytest

from scalinglaws.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "scalinglaws", *args], capture_output=True, text=True)


def test_optimal_unrounded_at_gophers_budget():
    result = run_cli("optimal", "--flops", "5.76e23", "--law", "chinchilla-unrounded")
    assert result.returncode == 0, result.stderr
    assert "parameters N_opt     4.04e+10" in result.stdout
    assert "tokens per parameter 58.9" in result.stdout


@pytest.mark.parametrize(
    "law, params, tokens_per_param",
    [("chinchilla", "3.22e+10", "92.6"), ("besiroglu", "7.22e+10", "18.4")],
)
def test_optimal_other_laws(capsys, law, params, tokens_per_param):
    assert main(["optimal", "--flops", "5.76e23", "--law", law]) == 0
    out = capsys.readouterr().out
    assert f"parameters N_opt     {params}" in out
    assert f"tokens per parameter {tokens_per_param}" in out


def test_optimal_defaults_to_every_law(capsys):
    assert main(["optimal", "--flops", "1e21"]) == 0
    out = capsys.readouterr().out
    for law in ("chinchilla", "chinchilla-unrounded", "besiroglu", "kaplan"):
        assert f"law                  {law}\n" in out


@pytest.mark.parametrize("flops", ["-1", "0", "nan", "lots"])
def test_bad_budget_is_a_usage_error(flops):
    result = run_cli("optimal", "--flops", flops)
    assert result.returncode == 2
    assert "argument --flops: expected a" in result.stderr


def test_unknown_law_is_a_usage_error():
    result = run_cli("optimal", "--flops", "1e20", "--law", "gpt5")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "chinchilla-unrounded" in result.stderr
