"""Policy and value networks for the toolkit's agents: MLP and small-CNN encoders, and
:class:`ActorCritic` (discrete or Gaussian actions, one or two value heads).

Initialisation follows the PPO implementation details of Huang et al. (2022, "The 37
Implementation Details of Proximal Policy Optimization"): orthogonal weights with gain sqrt(2),
0.01 for the policy output and 1 for the value output, zero biases.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn
from torch.nn import functional as F

__all__ = [
    "ActorCritic",
    "MLP",
    "TwoTowerMLP",
    "MiniGridCNN",
    "QNetwork",
    "obs_encoder_kind",
    "flat_parameters",
    "NumpyActorCritic",
]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


def layer_init(layer: nn.Module, std: float = float(np.sqrt(2)), bias: float = 0.0) -> nn.Module:
    """Orthogonal weights with gain ``std`` and constant bias (in place; returns the layer)."""
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias)
    return layer


class MLP(nn.Module):
    """A multilayer perceptron ``in_dim -> hidden... -> out_dim`` with orthogonal init.

    The forward pass calls ``F.linear`` on the layers' tensors directly instead of going
    through one ``Module.__call__`` per layer: with the tiny networks of classic control, the
    per-call overhead is a large share of the rollout's cost.

    Example:
        >>> net = MLP(4, (64, 64), 2)
        >>> net(torch.zeros(3, 4)).shape
        torch.Size([3, 2])
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        activation: str = "tanh",
        out_std: float = 1.0,
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        dims = [in_dim, *hidden]
        layers = [layer_init(nn.Linear(a, b)) for a, b in zip(dims[:-1], dims[1:], strict=True)]
        layers.append(layer_init(nn.Linear(dims[-1], out_dim), std=out_std))
        self.layers = nn.ModuleList(layers)
        self.activation = activation
        self._act = _ACTIVATIONS[activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self._act(F.linear(x, layer.weight, layer.bias))
        return F.linear(x, last.weight, last.bias)


class TwoTowerMLP(nn.Module):
    """Two MLPs with the same hidden sizes (PPO's actor and critic), run as one block-diagonal MLP.

    The output is ``concat(tower_a(x), tower_b(x))``. Each layer holds both towers' weights as
    diagonal blocks of one matrix (the first layer stacks them, as both read ``x``), so a forward
    pass costs 2L + 1 tensor ops instead of 4L + 2: with tiny networks, per-op overhead and not
    arithmetic is what costs. Backward fills the off-diagonal blocks too; :attr:`grad_masks`
    zeroes them (``weight.grad *= mask`` after each backward), which keeps them exactly zero
    under Adam and makes training identical to two separate networks.

    Args:
        in_dim: input width.
        hidden: hidden sizes of each tower.
        out_dims: output widths of tower a and tower b.
        activation: ``"tanh"`` or ``"relu"``.
        out_stds: orthogonal-init gains of the two output layers.

    Example:
        >>> net = TwoTowerMLP(4, (8, 8), (2, 1))
        >>> net(torch.zeros(3, 4)).shape
        torch.Size([3, 3])
        >>> w = net.layers[1].weight.detach()   # the off-diagonal blocks start (and stay) zero
        >>> float(w[:8, 8:].abs().sum()), float(w[8:, :8].abs().sum())
        (0.0, 0.0)
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dims: tuple[int, int],
        activation: str = "tanh",
        out_stds: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {sorted(_ACTIVATIONS)}, got {activation!r}"
            )
        if not hidden:
            raise ValueError("TwoTowerMLP needs at least one hidden layer")
        self._act = _ACTIVATIONS[activation]
        self.activation = activation
        self.out_dims = tuple(out_dims)
        sizes = [*hidden, None]
        layers = []
        masks: list[torch.Tensor] = []
        for k, h in enumerate(sizes):
            outs = (h, h) if h is not None else self.out_dims
            stds = (float(np.sqrt(2)), float(np.sqrt(2))) if h is not None else out_stds
            ins = (in_dim, in_dim) if k == 0 else (hidden[k - 1], hidden[k - 1])
            layer = nn.Linear(in_dim if k == 0 else 2 * hidden[k - 1], sum(outs))
            mask = torch.zeros_like(layer.weight)
            with torch.no_grad():
                layer.weight.zero_()
                row = col = 0
                for tower in range(2):
                    block = layer_init(nn.Linear(ins[tower], outs[tower]), std=stds[tower])
                    rows = slice(row, row + outs[tower])
                    cols = slice(0, in_dim) if k == 0 else slice(col, col + ins[tower])
                    layer.weight[rows, cols] = block.weight
                    layer.bias[rows] = block.bias
                    mask[rows, cols] = 1.0
                    row += outs[tower]
                    col += ins[tower]
            layers.append(layer)
            masks.append(mask)
        self.layers = nn.ModuleList(layers)
        for k, mask in enumerate(masks):
            self.register_buffer(f"mask{k}", mask, persistent=False)

    @property
    def grad_masks(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, mask) pairs: multiply each weight's gradient by its mask after backward."""
        return [(layer.weight, getattr(self, f"mask{k}")) for k, layer in enumerate(self.layers)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        *hidden, last = self.layers
        for layer in hidden:
            x = self._act(F.linear(x, layer.weight, layer.bias))
        return F.linear(x, last.weight, last.bias)


class MiniGridCNN(nn.Module):
    """The small CNN of the MiniGrid baselines (Willems' rl-starter-files): three 2x2 convs
    with a max-pool after the first, for ``(H, W, C)`` grid images such as MiniGrid's 7x7x3.

    Accepts channels-last (``H, W, C``) input, as MiniGrid and our gridworld produce.

    Example:
        >>> cnn = MiniGridCNN((7, 7, 3))
        >>> cnn(torch.zeros(2, 7, 7, 3)).shape, cnn.out_dim
        (torch.Size([2, 64]), 64)
    """

    def __init__(self, obs_shape: Sequence[int]) -> None:
        super().__init__()
        h, w, c = obs_shape
        if h < 7 or w < 7:  # each 2x2 layer takes one off a side, the pool halves it
            raise ValueError(
                f"MiniGridCNN needs images of at least 7x7, got {h}x{w}; use encoder='mlp'"
            )
        self.net = nn.Sequential(
            layer_init(nn.Conv2d(c, 16, 2)),
            nn.ReLU(),
            nn.MaxPool2d(2),
            layer_init(nn.Conv2d(16, 32, 2)),
            nn.ReLU(),
            layer_init(nn.Conv2d(32, 64, 2)),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            self.out_dim = int(self.net(torch.zeros(1, c, h, w)).shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.permute(0, 3, 1, 2))


def obs_encoder_kind(space: spaces.Space) -> str:
    """``"cnn"`` for image-like ``(H, W, C)`` boxes (C <= 4, H, W >= 7), else ``"mlp"``.

    7 is the smallest side :class:`MiniGridCNN` takes (a 2x2 conv, a 2x2 pool, two more 2x2
    convs); a 5x5 MiniGrid view gets the MLP.

    Example:
        >>> obs_encoder_kind(spaces.Box(0, 255, (7, 7, 3))), obs_encoder_kind(spaces.Box(-1, 1, (4,)))
        ('cnn', 'mlp')
    """
    if isinstance(space, spaces.Box) and len(space.shape) == 3:
        h, w, c = space.shape
        if c <= 4 and h >= 7 and w >= 7:
            return "cnn"
    return "mlp"


def flat_obs_dim(space: spaces.Space) -> int:
    """Input width of an MLP for ``space`` (Discrete observations are one-hot encoded)."""
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    raise TypeError(
        f"observation space {space} is not supported: expected a Box or Discrete space "
        "(for MiniGrid's Dict observations use minigrid.wrappers.ImgObsWrapper)"
    )


def build_encoder(
    space: spaces.Space, encoder: str, hidden: Sequence[int]
) -> tuple[nn.Module, int, tuple[int, ...], str]:
    """(encoder module, its output width, the hidden sizes left for the heads, its kind).

    A CNN encoder (image observations) is followed by heads with one hidden layer; an MLP
    "encoder" is a reshape (Identity for 1-D observations: no extra module call per step),
    followed by heads with every hidden layer.

    Example:
        >>> build_encoder(spaces.Box(-1, 1, (4,)), "auto", (64, 64))[1:]
        (4, (64, 64), 'mlp')
    """
    kind = obs_encoder_kind(space) if encoder == "auto" else encoder
    if kind not in ("mlp", "cnn"):
        raise ValueError(f"encoder must be 'auto', 'mlp' or 'cnn', got {encoder!r}")
    if kind == "cnn":
        if not (isinstance(space, spaces.Box) and len(space.shape) == 3):
            raise ValueError(f"encoder='cnn' needs (H, W, C) image observations, got {space}")
        cnn = MiniGridCNN(space.shape)
        return cnn, cnn.out_dim, tuple(hidden[-1:]), kind
    flat = isinstance(space, spaces.Box) and len(space.shape) > 1
    return nn.Flatten() if flat else nn.Identity(), flat_obs_dim(space), tuple(hidden), kind


def as_float_input(obs: torch.Tensor, space: spaces.Space) -> torch.Tensor:
    """Observations as the float input of an encoder (one-hot for Discrete, flattened Box).

    A ``Discrete(n, start=s)`` observation takes values ``s .. s+n-1``: one-hot of ``obs - s``.

    Example:
        >>> as_float_input(torch.tensor([1, 4]), spaces.Discrete(4, start=1)).argmax(-1).tolist()
        [0, 3]
    """
    if isinstance(space, spaces.Discrete):
        index = obs.long().reshape(-1) - int(space.start)
        return nn.functional.one_hot(index, int(space.n)).float()
    return obs.float()


class ActorCritic(nn.Module):
    """PPO's policy and value function, for Discrete or Box actions.

    MLP observations get separate actor and critic MLPs (CleanRL's default); image observations
    share a :class:`MiniGridCNN` encoder between the two heads. With ``num_value_heads=2`` the
    critic has an extrinsic and an intrinsic value output (Burda et al. 2019, RND).

    Args:
        observation_space: a single env's observation space (Box or Discrete).
        action_space: a single env's action space (Discrete or Box). Discrete actions are
            indices ``0 .. n-1``; for ``Discrete(n, start=s)`` the agent adds ``s`` before
            the env sees them.
        hidden: hidden layer sizes.
        encoder: ``"auto"``, ``"mlp"`` or ``"cnn"``.
        num_value_heads: 1, or 2 for extrinsic + intrinsic values.
        activation: ``"tanh"`` or ``"relu"``.

    Example:
        >>> import gymnasium as gym
        >>> net = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), num_value_heads=2)
        >>> g = torch.Generator().manual_seed(0)
        >>> action, logp, value = net.act(torch.zeros(3, 4), net.sample_noise((3,), g))
        >>> action.shape, logp.shape, value.shape
        (torch.Size([3]), torch.Size([3]), torch.Size([3, 2]))
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        hidden: Sequence[int] = (64, 64),
        encoder: str = "auto",
        num_value_heads: int = 1,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if num_value_heads not in (1, 2):
            raise ValueError(f"num_value_heads must be 1 or 2, got {num_value_heads}")
        self.observation_space = observation_space
        self.discrete = isinstance(action_space, spaces.Discrete)
        if self.discrete:
            n_out = int(action_space.n)
        elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
            n_out = int(action_space.shape[0])
        else:
            raise TypeError(
                f"action space {action_space} is not supported: expected Discrete or a 1-D Box"
            )
        self.encoder, in_dim, trunk, self.encoder_kind = build_encoder(
            observation_space, encoder, hidden
        )
        # Actor and critic: two separate MLPs, packed block-diagonally (see TwoTowerMLP).
        self.towers = TwoTowerMLP(
            in_dim, trunk, (n_out, num_value_heads), activation, out_stds=(0.01, 1.0)
        )
        self.n_out = n_out
        self.num_value_heads = num_value_heads
        if not self.discrete:
            self.log_std = nn.Parameter(torch.zeros(n_out))

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """Encoder output for a batch of (already normalised) observations."""
        x = as_float_input(obs, self.observation_space)
        return x if isinstance(self.encoder, nn.Identity) else self.encoder(x)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        """Values, shape (B, num_value_heads)."""
        return self.towers(self.features(obs))[:, self.n_out :]

    def flat_grad_mask(self) -> torch.Tensor | None:
        """The gradient mask of :class:`TwoTowerMLP`, laid out like :func:`flat_parameters`
        (ones for every other parameter)."""
        masks = {id(w): m for w, m in self.towers.grad_masks}
        parts = [masks.get(id(p), torch.ones_like(p)).flatten() for p in self.parameters()]
        return torch.cat(parts)

    def sample_noise(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """The randomness of ``shape`` action draws, drawn at once (PPO draws a whole
        rollout's worth per iteration: one kernel instead of one per step). Gumbel noise for
        Discrete actions, standard normal noise for Gaussian ones."""
        dev = next(self.parameters()).device
        full = (*shape, self.n_out)
        if self.discrete:
            u = torch.rand(full, generator=generator, device=dev).clamp_min_(1e-20)
            return -torch.log(-torch.log(u))
        return torch.randn(full, generator=generator, device=dev)

    def act(
        self, obs: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Actions from pre-drawn ``noise`` (see :meth:`sample_noise`): (action, log-prob, values).

        Discrete: the Gumbel-max trick, argmax(logits + g) ~ softmax(logits). Gaussian:
        mean + std * noise.
        """
        both = self.towers(self.features(obs))
        out, values = both[:, : self.n_out], both[:, self.n_out :]
        if self.discrete:
            action = torch.argmax(out + noise, dim=-1)
            logp = torch.log_softmax(out, dim=-1).gather(-1, action.unsqueeze(-1)).squeeze(-1)
        else:
            action = out + self.log_std.exp() * noise
            logp = _normal_log_prob(noise, self.log_std)
        return action, logp, values

    def evaluate(
        self, obs: torch.Tensor, action: torch.Tensor, with_entropy: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
        """Log-probability and entropy (None unless ``with_entropy``) of ``action``, and the
        values, under the current policy."""
        both = self.towers(self.features(obs))
        out, values = both[:, : self.n_out], both[:, self.n_out :]
        entropy = None
        if self.discrete and not with_entropy:
            logp = -F.cross_entropy(out, action.long(), reduction="none")  # one fused op
        elif self.discrete:
            logp_all = torch.log_softmax(out, dim=-1)
            logp = logp_all.gather(-1, action.long().unsqueeze(-1)).squeeze(-1)
            entropy = -(logp_all.exp() * logp_all).sum(-1)
        else:
            noise = (action - out) / self.log_std.exp()
            logp = _normal_log_prob(noise, self.log_std)
            if with_entropy:
                entropy = (0.5 + 0.5 * np.log(2 * np.pi) + self.log_std).sum().expand(len(out))
        return logp, entropy, values

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        """The most likely action (argmax, or the Gaussian's mean)."""
        out = self.towers(self.features(obs))[:, : self.n_out]
        return out.argmax(-1) if self.discrete else out


class NumpyActorCritic:
    """The rollout half of a CPU :class:`ActorCritic` (MLP or MiniGrid CNN encoder), in NumPy.

    A rollout step evaluates a tiny network on a handful of observations, where PyTorch's
    per-operation dispatch costs several times the arithmetic; NumPy's is a fraction of it.
    The arrays are *views* of the torch parameters (no copies), so the optimiser's in-place
    updates are seen at once. The same pre-drawn noise gives the same actions as
    :meth:`ActorCritic.act`; log-probabilities and values agree to float32 rounding.

    Example:
        >>> import gymnasium as gym
        >>> net = ActorCritic(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2))
        >>> fast = NumpyActorCritic(net)
        >>> noise = net.sample_noise((3,), torch.Generator().manual_seed(0))
        >>> obs = np.ones((3, 4), np.float32)
        >>> a_np, logp_np, v_np = fast.act(obs, noise.numpy())
        >>> a, logp, v = net.act(torch.as_tensor(obs), noise)
        >>> bool((a_np == a.numpy()).all()), bool(np.allclose(logp_np, logp.detach().numpy(), atol=1e-6))
        (True, True)
    """

    def __init__(self, policy: ActorCritic) -> None:
        if not NumpyActorCritic.supports(policy):
            raise ValueError(
                "NumpyActorCritic needs a CPU float32 ActorCritic with an MLP or MiniGrid CNN "
                "encoder and small enough layers"
            )
        self.layers = [
            (layer.weight.detach().numpy().T, layer.bias.detach().numpy())
            for layer in policy.towers.layers
        ]
        # MiniGridCNN encoder: each conv as a (C*kh*kw, O) matrix view, with the gather index
        # of its im2col rows (one fancy-indexing op per layer).
        self.convs = []
        if policy.encoder_kind == "cnn":
            for m, (h, wd, c) in _conv_inputs(policy.encoder, policy.observation_space):
                w = m.weight.detach().numpy()
                index = _im2col_index(h, wd, c)
                self.convs.append((w.reshape(w.shape[0], -1).T, m.bias.detach().numpy(), index))
        self.tanh = policy.towers.activation == "tanh"
        self.n_out = policy.n_out
        self.discrete = policy.discrete
        self.log_std = None if policy.discrete else policy.log_std.detach().numpy()

    #: Largest batch * in * out of one layer: OpenBLAS multithreads GEMMs above 4 * 65536
    #: multiply-adds, and threads on tiny products oversubscribe a busy CPU (50x slower on a
    #: shared 2-core machine). Beyond this, per-call overhead matters less and torch acts.
    MAX_GEMM = 4 * 65536

    @staticmethod
    def supports(policy: ActorCritic, batch: int = 1) -> bool:
        """CPU, float32, Box observations through an MLP or the MiniGrid CNN, and GEMMs small
        enough for one thread."""
        p = next(policy.parameters())
        largest = max(layer.weight.numel() for layer in policy.towers.layers)
        if policy.encoder_kind == "cnn":
            largest = max(largest, _largest_conv_gemm(policy.encoder, policy.observation_space))
        return (
            p.device.type == "cpu"
            and p.dtype == torch.float32
            and policy.encoder_kind in ("mlp", "cnn")
            and isinstance(policy.observation_space, spaces.Box)
            and batch * largest < NumpyActorCritic.MAX_GEMM
        )

    def _cnn(self, x: np.ndarray) -> np.ndarray:
        """:class:`MiniGridCNN` on channels-last images (B, H, W, C): 2x2 conv, ReLU, 2x2
        max-pool, two more 2x2 conv + ReLU, flattened in torch's (C, H, W) order."""
        for k, (w, b, index) in enumerate(self.convs):
            n, h, wd = x.shape[0], x.shape[1] - 1, x.shape[2] - 1
            x = x.reshape(n, -1)[:, index].reshape(n * h * wd, -1) @ w
            x += b
            np.maximum(x, 0, out=x)
            x = x.reshape(n, h, wd, -1)
            if k == 0:  # MaxPool2d(2): floor division of the spatial size, as torch does
                h2, w2 = h // 2, wd // 2
                x = x[:, : 2 * h2, : 2 * w2].reshape(n, h2, 2, w2, 2, -1).max(axis=(2, 4))
        return x.transpose(0, 3, 1, 2).reshape(len(x), -1)

    def act(self, obs: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(action, log-probability, values) for float32 observations (B, ...)."""
        if self.convs:
            x = self._cnn(np.asarray(obs, dtype=np.float32))
        else:
            x = obs.reshape(len(obs), -1)
        *hidden, (w_out, b_out) = self.layers
        for w, b in hidden:
            x = x @ w
            x += b
            np.tanh(x, out=x) if self.tanh else np.maximum(x, 0, out=x)
        both = x @ w_out
        both += b_out
        out, values = both[:, : self.n_out], both[:, self.n_out :]
        if self.discrete:
            action = np.argmax(out + noise, axis=-1)
            top = out.max(-1, keepdims=True)
            log_z = np.log(np.exp(out - top).sum(-1)) + top[:, 0]
            logp = np.take_along_axis(out, action[:, None], -1)[:, 0] - log_z
        else:
            action = out + np.exp(self.log_std) * noise
            logp = (-0.5 * noise**2 - self.log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
        return action, logp.astype(np.float32, copy=False), values


def _im2col_index(h: int, w: int, c: int) -> np.ndarray:
    """Flat indices into a channels-last (h, w, c) image of its 2x2 windows: one row per output
    position, columns in torch's (C, kh, kw) weight order.

    Example:
        >>> img = np.arange(2 * 3 * 1)            # a 2x3 one-channel image, flattened
        >>> img[_im2col_index(2, 3, 1)].tolist()  # two windows of [top-left, top-right, ...]
        [[0, 1, 3, 4], [1, 2, 4, 5]]
    """
    i, j = np.meshgrid(np.arange(h - 1), np.arange(w - 1), indexing="ij")
    ch, di, dj = np.meshgrid(np.arange(c), np.arange(2), np.arange(2), indexing="ij")
    rows = (i.reshape(-1, 1) + di.reshape(1, -1)) * w + (j.reshape(-1, 1) + dj.reshape(1, -1))
    return rows * c + ch.reshape(1, -1)


def _conv_inputs(cnn: MiniGridCNN, space: spaces.Space) -> list[tuple[nn.Conv2d, tuple]]:
    """Each 2x2 convolution of the CNN with its input's (height, width, channels), the 2x2
    max-pool after the first one included (floor division, as torch does)."""
    h, w, c = space.shape
    out = []
    for k, m in enumerate(layer for layer in cnn.net if isinstance(layer, nn.Conv2d)):
        out.append((m, (h, w, c)))
        h, w, c = h - 1, w - 1, m.out_channels
        if k == 0:
            h, w = h // 2, w // 2
    return out


def _largest_conv_gemm(cnn: MiniGridCNN, space: spaces.Space) -> int:
    """Per image, the largest (output positions x C*kh*kw x O) of the CNN's im2col products."""
    return max((h - 1) * (w - 1) * m.weight.numel() for m, (h, w, _) in _conv_inputs(cnn, space))


def _normal_log_prob(noise: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """Sum over action dims of log N(a; mu, sigma), given the standardised ``noise = (a-mu)/sigma``."""
    return (-0.5 * noise.pow(2) - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)


class QNetwork(nn.Module):
    """Action values Q(s, .) for DQN: an MLP, or the MiniGrid CNN then one hidden layer.

    Example:
        >>> import gymnasium as gym
        >>> q = QNetwork(gym.spaces.Box(-1, 1, (4,)), 2, hidden=(32,))
        >>> q(torch.zeros(5, 4)).shape
        torch.Size([5, 2])
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        n_actions: int,
        hidden: Sequence[int] = (120, 84),
        encoder: str = "auto",
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.observation_space = observation_space
        self.encoder, in_dim, trunk, _ = build_encoder(observation_space, encoder, hidden)
        self.head = MLP(in_dim, trunk, n_actions, activation, out_std=1.0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(as_float_input(obs, self.observation_space)))


def flat_parameters(module: nn.Module) -> nn.Parameter:
    """Make every parameter of ``module`` (and its gradient) a view into one flat tensor.

    Returns the flat parameter, whose ``.grad`` holds all gradients: an optimiser over it
    updates the whole network in one fused step, gradient clipping is one norm, and zeroing
    is one ``zero_()``. Backward accumulates into the existing ``.grad`` views in place, so
    zero them with ``flat.grad.zero_()``, never by setting grads to None
    (``optimizer.zero_grad()``'s default), and move the module to its device first.

    Example:
        >>> net = MLP(3, (4,), 2)
        >>> flat = flat_parameters(net)
        >>> flat.numel() == sum(p.numel() for p in net.parameters())
        True
        >>> net(torch.ones(1, 3)).sum().backward()
        >>> bool(flat.grad.abs().sum() > 0), net.layers[0].weight.grad.data_ptr() == flat.grad.data_ptr()
        (True, True)
    """
    params = list(module.parameters())
    if not params:
        raise ValueError(f"{type(module).__name__} has no parameters")
    dtype, device = params[0].dtype, params[0].device
    if any(p.dtype != dtype or p.device != device for p in params):
        raise ValueError("flat_parameters needs every parameter on one device with one dtype")
    total = sum(p.numel() for p in params)
    flat = nn.Parameter(torch.empty(total, dtype=dtype, device=device))
    flat.grad = torch.zeros_like(flat)
    offset = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            flat[offset : offset + n].copy_(p.flatten())
            p.data = flat.data[offset : offset + n].view_as(p)
            p.grad = flat.grad[offset : offset + n].view_as(p)
            offset += n
    return flat
