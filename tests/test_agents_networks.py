"""The network tricks are exact: block-diagonal towers train like two separate MLPs, flat
parameters like ordinary ones; normalisation statistics match NumPy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from rewardshaping.agents.networks import ActorCritic, TwoTowerMLP, flat_parameters
from rewardshaping.agents.normalization import RunningMeanStd


def split_towers(net: TwoTowerMLP, hidden):
    """The two towers' separate weight lists, cut out of the packed blocks."""
    towers = ([], [])
    for k, layer in enumerate(net.layers):
        w, b = layer.weight.detach().clone(), layer.bias.detach().clone()
        outs = net.out_dims if k == len(hidden) else (hidden[k], hidden[k])
        ins = (w.shape[1], w.shape[1]) if k == 0 else (hidden[k - 1], hidden[k - 1])
        r = c = 0
        for t in range(2):
            cols = slice(0, ins[0]) if k == 0 else slice(c, c + ins[t])
            towers[t].append((w[r : r + outs[t], cols], b[r : r + outs[t]]))
            r += outs[t]
            c += ins[t]
    return [[(w.requires_grad_(), b.requires_grad_()) for w, b in tower] for tower in towers]


def run_tower(x, layers):
    for w, b in layers[:-1]:
        x = torch.tanh(F.linear(x, w, b))
    return F.linear(x, *layers[-1])


def test_two_towers_train_exactly_like_two_separate_networks():
    torch.manual_seed(0)
    hidden = (8, 6)
    net = TwoTowerMLP(5, hidden, (3, 2), out_stds=(0.01, 1.0))
    towers = split_towers(net, hidden)
    packed_opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sep_params = [p for tower in towers for layer in tower for p in layer]
    sep_opt = torch.optim.Adam(sep_params, lr=1e-2)
    for step in range(20):
        x = torch.randn(7, 5)
        target = torch.randn(7, 5)
        loss = ((net(x) - target) ** 2).sum()
        packed_opt.zero_grad()
        loss.backward()
        for w, mask in net.grad_masks:
            w.grad.mul_(mask)
        packed_opt.step()
        out = torch.cat([run_tower(x, towers[0]), run_tower(x, towers[1])], dim=1)
        sep_loss = ((out - target) ** 2).sum()
        sep_opt.zero_grad()
        sep_loss.backward()
        sep_opt.step()
        assert torch.allclose(loss, sep_loss, rtol=1e-5, atol=1e-5), step
    for fresh, tower_weights in zip(split_towers(net, hidden), towers, strict=True):
        for (w1, b1), (w2, b2) in zip(fresh, tower_weights, strict=True):
            torch.testing.assert_close(w1, w2, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(b1, b2, rtol=1e-5, atol=1e-6)
    # the off-diagonal blocks never moved
    w = net.layers[1].weight.detach()
    assert float(w[:6, 8:].abs().sum()) == 0.0 and float(w[6:, :8].abs().sum()) == 0.0


def test_flat_parameters_are_views_that_survive_load_state_dict():
    net = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3))
    other = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3))
    flat = flat_parameters(net)
    net.load_state_dict(other.state_dict())
    assert torch.equal(flat, torch.cat([p.detach().flatten() for p in other.parameters()]))
    with torch.no_grad():
        flat.zero_()
    assert all(float(p.detach().abs().sum()) == 0 for p in net.parameters())
    mask = net.flat_grad_mask()
    assert mask.shape == flat.shape and 0 < float(mask.mean()) < 1


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 1000),
    sizes=st.lists(st.integers(1, 20), min_size=1, max_size=5),
)
def test_running_mean_std_equals_numpy_over_all_batches(seed, sizes):
    rng = np.random.default_rng(seed)
    batches = [rng.normal(3.0, 2.0, size=(n, 2)) for n in sizes]
    rms = RunningMeanStd((2,))
    for b in batches:
        rms.update(torch.as_tensor(b))
    data = np.concatenate(batches)
    n, m, v = len(data), data.mean(0), data.var(0)
    # Exactly the data merged with the prior pseudo-batch (mean 0, var 1, count 1e-4; the
    # baselines convention that keeps the first update defined).
    total = 1e-4 + n
    np.testing.assert_allclose(rms.mean.numpy(), n * m / total, rtol=1e-9)
    np.testing.assert_allclose(
        rms.var.numpy(), (1e-4 + n * v + 1e-4 * n / total * m**2) / total, rtol=1e-9
    )


def test_evaluate_without_entropy_gives_the_same_log_probs():
    net = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(3), num_value_heads=2)
    obs, actions = torch.randn(6, 4), torch.randint(0, 3, (6,))
    logp, entropy, values = net.evaluate(obs, actions)
    logp2, none, values2 = net.evaluate(obs, actions, with_entropy=False)
    torch.testing.assert_close(logp, logp2)
    assert none is None and torch.equal(values, values2) and entropy.shape == (6,)
