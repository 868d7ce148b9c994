"""Serving cost per token: 2N FLOPs and N x bytes of weights."""

import pytest

from scalinglaws.papers.inference import inference_cost


def test_inference_cost_of_gopher_and_chinchilla():
    gopher, chinchilla = inference_cost(280e9), inference_cost(70e9)
    assert gopher.flops_per_token == 5.6e11
    assert chinchilla.weight_bytes == 140e9  # bf16: 2 bytes per parameter
    assert gopher.flops_per_token / chinchilla.flops_per_token == 4.0
    with pytest.raises(ValueError, match="bytes_per_param"):
        inference_cost(70e9, bytes_per_param=0)
