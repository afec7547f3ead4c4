"""The blend's meta-gradient (rewardshaping.shaping.blending) against autograd and finite
differences on a tiny differentiable softmax policy; weights, normalisation, the Withheld composer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardshaping.shaping.blending import (
    BlendWeights,
    Withheld,
    alignment_scores,
    blend_surrogate,
    gradient_norm,
)


def problem(seed: int, b: int = 12, d: int = 3, a: int = 4, k: int = 2):
    """A linear-softmax policy pi(a|x) = softmax(x @ theta), a batch, and advantages."""
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(d, a, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(b, d, generator=g, dtype=torch.float64)
    actions = torch.randint(0, a, (b,), generator=g)
    a_p = torch.randn(b, generator=g, dtype=torch.float64)
    a_h = torch.randn(b, k, generator=g, dtype=torch.float64)

    def logp_at(th):
        return torch.log_softmax(x @ th, -1).gather(1, actions[:, None])[:, 0]

    return theta, x, logp_at, a_p, a_h


def state_weights(k: int, d: int, seed: int) -> BlendWeights:
    w = BlendWeights([f"h{j}" for j in range(k)], w_init=0.7, w_max=2.0, obs_dim=d).double()
    with torch.no_grad():  # a non-trivial head (it starts at zero)
        g = torch.Generator().manual_seed(seed + 99)
        for p in w.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    return w


def inner_step(theta, logp_at, a_p, a_h, w, alpha):
    """theta' = theta + alpha * grad_theta mean(log pi (A_p + sum_k w_k(s) A_k)), as a function
    of the weights' parameters (create_graph)."""
    blended = a_p + (w * a_h).sum(1)
    obj = (logp_at(theta) * blended).mean()
    (g,) = torch.autograd.grad(obj, theta, create_graph=True)
    return theta + alpha * g


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_meta_gradient_equals_autograd_through_the_inner_step(seed):
    theta, x, logp_at, a_p, a_h = problem(seed)
    weights = state_weights(a_h.shape[1], x.shape[1], seed)
    alpha = 0.3
    # Reference: d/dpsi <g_p, theta'(psi)> by autograd through the inner step.
    (g_p,) = torch.autograd.grad((logp_at(theta) * a_p).mean(), theta)
    theta_new = inner_step(theta, logp_at, a_p, a_h, weights(x), alpha)
    ref = torch.autograd.grad((g_p * theta_new).sum(), list(weights.parameters()))
    # Ours: alignments c_i, then the surrogate's gradient.
    c, _ = alignment_scores(lambda ps: logp_at(ps[0]), [theta], a_p)
    ours = torch.autograd.grad(blend_surrogate(weights(x), c, a_h), list(weights.parameters()))
    for r, o in zip(ref, ours, strict=True):
        torch.testing.assert_close(alpha * o, r, rtol=1e-10, atol=1e-12)


def test_meta_gradient_matches_finite_differences_of_the_primary_objective():
    theta, x, logp_at, a_p, a_h = problem(5)
    weights = state_weights(a_h.shape[1], x.shape[1], 5)
    alpha, eps = 1e-4, 1e-4

    def primary_after_step() -> float:
        with torch.enable_grad():
            th = inner_step(theta, logp_at, a_p, a_h, weights(x), alpha)
        return float((logp_at(th) * a_p).mean())

    c, _ = alignment_scores(lambda ps: logp_at(ps[0]), [theta], a_p)
    ours = torch.autograd.grad(blend_surrogate(weights(x), c, a_h), list(weights.parameters()))
    for p, grad in zip(weights.parameters(), ours, strict=True):
        flat = p.data.view(-1)
        for j in range(flat.numel()):
            old = float(flat[j])
            flat[j] = old + eps
            up = primary_after_step()
            flat[j] = old - eps
            down = primary_after_step()
            flat[j] = old
            fd = (up - down) / (2 * eps)
            # First order in alpha: the gap is O(alpha^2) relative to alpha * grad.
            assert abs(fd - alpha * float(grad.view(-1)[j])) <= 1e-3 * alpha * (
                abs(float(grad.view(-1)[j])) + 1e-3
            )


def test_cross_fitted_alignment_uses_the_other_groups_gradient():
    theta, x, logp_at, a_p, _ = problem(3)
    groups = torch.tensor([0, 1] * 6)
    c, norm = alignment_scores(lambda ps: logp_at(ps[0]), [theta], a_p, groups)
    scores = [torch.autograd.grad(logp_at(theta)[i], theta)[0] for i in range(len(a_p))]
    g = [
        sum(scores[i] * a_p[i] for i in range(len(a_p)) if groups[i] == k)
        / int((groups == k).sum())
        for k in (0, 1)
    ]
    for i in range(len(a_p)):
        other = g[1 - int(groups[i])]
        torch.testing.assert_close(c[i], (other * scores[i]).sum())
        torch.testing.assert_close(norm[i], other.norm())


def test_grad_masks_zero_untrained_entries():
    theta, x, logp_at, a_p, _ = problem(4)
    mask = torch.zeros_like(theta)
    mask[:, 0] = 1.0
    c_masked, norm = alignment_scores(lambda ps: logp_at(ps[0]), [theta], a_p, grad_masks=[mask])
    (g,) = torch.autograd.grad((logp_at(theta) * a_p).mean(), theta)
    scores = [torch.autograd.grad(logp_at(theta)[i], theta)[0] for i in range(len(a_p))]
    expect = torch.stack([(g * mask * s).sum() for s in scores])
    torch.testing.assert_close(c_masked, expect)
    torch.testing.assert_close(norm[0], (g * mask).norm())


def test_gradient_norm_per_column():
    theta, x, logp_at, _, a_h = problem(6)
    got = gradient_norm(logp_at(theta), [theta], a_h)
    for k in range(a_h.shape[1]):
        (g,) = torch.autograd.grad((logp_at(theta) * a_h[:, k]).mean(), theta)
        torch.testing.assert_close(got[k], g.norm())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.integers(2, 20), k=st.integers(1, 3),
       factor=st.floats(0.1, 10.0))  # fmt: skip
def test_scalar_step_is_the_cosine_of_primary_and_heuristic_gradients(seed, b, k, factor):
    theta, x, logp_at, a_p, a_h = problem(seed, b=b, k=k)
    a_h[:, 0] = factor * a_p  # heuristic 0 agrees with the primary reward exactly
    if k > 1:
        a_h[:, 1] = -factor * a_p  # heuristic 1 opposes it
    weights = BlendWeights([f"h{j}" for j in range(k)], w_init=1.0, w_max=2.0).double()
    c, norm_p = alignment_scores(lambda ps: logp_at(ps[0]), [theta], a_p)
    norm_h = gradient_norm(logp_at(theta), [theta], a_h)
    if float(norm_p[0]) < 1e-9:
        return  # a degenerate batch with no primary gradient
    scale = norm_p[:, None] * norm_h[None, :]
    (grad,) = torch.autograd.grad(blend_surrogate(weights(x), c, a_h, scale), weights.logit)
    slope = 2.0 * 0.5 * 0.5  # w_max * sigmoid'(0)
    cos = grad / slope
    assert abs(float(cos[0]) - 1.0) < 1e-9
    if k > 1:
        assert abs(float(cos[1]) + 1.0) < 1e-9
    for j in range(k):  # always a cosine
        assert -1 - 1e-9 <= float(cos[j]) <= 1 + 1e-9


def test_weights_bounds_init_and_errors():
    w = BlendWeights(["a", "b"], w_init=[0.25, 1.5], w_max=2.0)
    torch.testing.assert_close(w(torch.zeros(1, 3)), torch.tensor([[0.25, 1.5]]))
    with torch.no_grad():
        w.logit.fill_(50.0)
    assert float(w(torch.zeros(1, 3)).detach().max()) <= 2.0
    with pytest.raises(ValueError, match="strictly inside"):
        BlendWeights(["a"], w_init=0.0)
    with pytest.raises(ValueError, match="strictly inside"):
        BlendWeights(["a"], w_init=3.0, w_max=2.0)
    with pytest.raises(ValueError, match="w_max"):
        BlendWeights(["a"], w_init=0.5, w_max=0.0)
    with pytest.raises(ValueError, match="at least one"):
        BlendWeights([])
    with pytest.raises(ValueError, match="same shape"):
        blend_surrogate(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3, 1))


def test_weights_state_dict_round_trip_and_device():
    w = BlendWeights(["a"], w_init=0.5, w_max=1.0, obs_dim=4, hidden=(8,), device="cpu")
    assert all(p.device.type == "cpu" for p in w.parameters())
    with torch.no_grad():
        for p in w.parameters():
            p.add_(0.1)
    w2 = BlendWeights(["a"], w_init=0.9, w_max=1.0, obs_dim=4, hidden=(8,))
    w2.load_state_dict(w.state_dict())
    x = torch.randn(5, 4)
    torch.testing.assert_close(w2(x), w(x))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_weights_on_cuda():
    w = BlendWeights(["a"], w_init=0.5, w_max=1.0, obs_dim=4, device="cuda")
    assert w(torch.zeros(2, 4, device="cuda")).device.type == "cuda"


def test_withheld_reports_without_paying():
    c = Withheld(["hint"])
    c.bind(["hint", "penalty"])
    out = c(np.array([1.0, 0.0]), {"hint": np.array([9.0, 9.0]), "penalty": np.array([-1.0, -1.0])})
    np.testing.assert_allclose(out, [0.0, -1.0])
    with pytest.raises(ValueError, match="unknown term"):
        Withheld(["nope"]).bind(["hint"])
