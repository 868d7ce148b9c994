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


def test_plan_prints_the_trunks_and_the_flop_ratio_of_a_preset(capsys):
    """smoke: the same 3 shapes at 1e9 and 3e9 FLOPs (3x longer), so 3 trunks, each costing
    0.8 * 3 + 0.2 * (1 + 3) = 3.2 of the 4 units two runs cost alone: ratio 0.8 up to the rounding
    of steps and cooldowns."""
    assert main(["plan", "--preset", "smoke", "--cooldown", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "3 trained units (3 WSD trunks) for 6 runs" in out
    assert float(out.split("ratio ")[-1]) == pytest.approx(0.8, abs=0.003)


@pytest.mark.parametrize("args, message", [(["--preset", "smoke", "--cooldown", "1"], "strictly between 0 and 1"),
                                           (["--preset", "nope"], "unknown preset 'nope'")])
def test_plan_refuses_bad_input_with_exit_status_2(capsys, args, message):
    try:
        status = main(["plan", *args])
    except SystemExit as exit:  # argparse's usage errors
        status = exit.code
    assert status == 2 and message in capsys.readouterr().err
