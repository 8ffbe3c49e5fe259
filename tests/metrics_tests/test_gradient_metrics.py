"""synflow, snip, grad_norm, fisher and grasp by hand on tiny dense networks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from tinynas.metrics import get_metric
from tinynas.space import Architecture
from tinynas.space.torch_builder import build_torch

SOFTMAX_REGRESSION = Architecture((5,), 3)  # z = W x + b, no hidden layer, no ReLU


def _params(arch: Architecture, seed: int) -> dict[str, np.ndarray]:
    torch.manual_seed(seed)
    net = build_torch(arch)
    return {k: v.detach().numpy().astype(np.float64) for k, v in net.state_dict().items()}


def _batch() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    return rng.normal(size=(6, 5)).astype(np.float32), np.array([0, 1, 2, 2, 1, 0])


def _softmax_regression(seed: int) -> dict[str, np.ndarray]:
    """W, inputs, logits z, probabilities p and dL/dz, dL/dW of the mean cross-entropy."""
    p = _params(SOFTMAX_REGRESSION, seed)
    w, b = p["layers.classifier.weight"], p["layers.classifier.bias"]
    x, y = _batch()
    x = x.astype(np.float64)
    z = x @ w.T + b
    prob = np.exp(z - z.max(1, keepdims=True))
    prob /= prob.sum(1, keepdims=True)
    grad_z = (prob - np.eye(3)[y]) / len(x)
    return {"w": w, "x": x, "z": z, "p": prob, "grad_z": grad_z, "grad_w": grad_z.T @ x}


def test_synflow_of_a_one_hidden_layer_network() -> None:
    arch = Architecture((2,), 2, dense=(3,))
    p = {k: np.abs(v) for k, v in _params(arch, seed=2).items()}
    w1, b1 = p["layers.d0.weight"], p["layers.d0.bias"]
    w2 = p["layers.classifier.weight"]
    # R = sum_k sum_i W2_ki (sum_j W1_ij + b1_i) + b2_k for the all-ones input
    expected = (w1 * w2.sum(0)[:, None]).sum() + (w2 * (w1.sum(1) + b1)).sum()
    assert get_metric("synflow").score(arch, None, seed=2) == pytest.approx(expected, rel=1e-12)


def test_synflow_of_softmax_regression_is_the_sum_of_absolute_weights() -> None:
    w = _params(SOFTMAX_REGRESSION, seed=0)["layers.classifier.weight"]
    assert get_metric("synflow").score(SOFTMAX_REGRESSION, None, 0) == pytest.approx(
        np.abs(w).sum(), rel=1e-12)


def test_snip_and_grad_norm_of_softmax_regression() -> None:
    r = _softmax_regression(seed=1)
    batch = _batch()
    snip = get_metric("snip").score(SOFTMAX_REGRESSION, batch, seed=1)
    assert snip == pytest.approx(np.abs(r["w"] * r["grad_w"]).sum(), rel=1e-5)
    norm = get_metric("grad_norm").score(SOFTMAX_REGRESSION, batch, seed=1)
    assert norm == pytest.approx(np.linalg.norm(r["grad_w"]), rel=1e-5)


def test_fisher_of_softmax_regression() -> None:
    r = _softmax_regression(seed=1)
    expected = (0.5 * ((r["z"] * r["grad_z"]) ** 2).mean(0)).sum()
    fisher = get_metric("fisher").score(SOFTMAX_REGRESSION, _batch(), seed=1)
    assert fisher == pytest.approx(expected, rel=1e-4)


def test_grasp_of_softmax_regression_is_minus_w_times_hessian_gradient() -> None:
    r = _softmax_regression(seed=1)
    x, prob, g = r["x"], r["p"], r["grad_w"]
    hg = np.zeros_like(g)
    for x_n, p_n in zip(x, prob):  # Hessian of the mean CE in W: mean_n S_n (x) x_n x_n^T
        s_n = np.diag(p_n) - np.outer(p_n, p_n)
        hg += np.outer(s_n @ (g @ x_n), x_n) / len(x)
    grasp = get_metric("grasp").score(SOFTMAX_REGRESSION, _batch(), seed=1)
    assert grasp == pytest.approx(-(r["w"] * hg).sum(), rel=1e-4)


def test_gradient_metrics_depend_on_the_labels() -> None:
    x, y = _batch()
    other = (x, (y + 1) % 3)
    for name in ("snip", "grad_norm", "fisher", "grasp"):
        metric = get_metric(name)
        assert metric.score(SOFTMAX_REGRESSION, (x, y), 0) != metric.score(
            SOFTMAX_REGRESSION, other, 0), name
