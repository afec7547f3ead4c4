"""Building the vector envs the agents train on, and finding what the agents need in them.

:func:`make_vector_env` makes a Gymnasium vector env from an id (sync, async or the env's native
batched implementation), applies MiniGrid's image wrapper when observations are MiniGrid dicts,
and adds reward terms with :class:`~rewardshaping.wrappers.ShapedVectorEnv`.
:func:`find_shaped` finds the ``ShapedVectorEnv`` in a wrapper stack; :func:`resolve_device`
turns ``"auto"`` into the best available torch device.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import torch
from gymnasium.vector import AutoresetMode, VectorEnv

from rewardshaping.wrappers import ShapedVectorEnv

__all__ = ["make_vector_env", "find_shaped", "resolve_device", "VECTORIZATIONS"]

VECTORIZATIONS = ("auto", "sync", "async", "vector_entry_point")


def _ensure_registered(env_id: str) -> None:
    # Our own ids live in rewardshaping.envs; importing it registers them.
    if env_id.startswith("rewardshaping/"):
        import rewardshaping.envs  # noqa: F401
    elif env_id.startswith("MiniGrid-") or env_id.startswith("BabyAI-"):
        import minigrid  # noqa: F401


def _minigrid_image(env: gym.Env) -> gym.Env:
    """MiniGrid's dict observations -> the image alone (``minigrid.wrappers.ImgObsWrapper``)."""
    space = env.observation_space
    if isinstance(space, gym.spaces.Dict) and "image" in space.spaces:
        from minigrid.wrappers import ImgObsWrapper

        return ImgObsWrapper(env)
    return env


def make_vector_env(
    env_id: str,
    num_envs: int,
    *,
    vectorization: str = "auto",
    env_kwargs: Mapping[str, Any] | None = None,
    terms: Any = None,
    weight: Any = 1.0,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
) -> VectorEnv:
    """A vector env of ``num_envs`` copies of ``env_id``, optionally shaped by ``terms``.

    Args:
        env_id: a registered Gymnasium id (ours are under ``rewardshaping/``).
        num_envs: N.
        vectorization: ``"sync"``, ``"async"``, ``"vector_entry_point"`` (the env's own batched
            implementation) or ``"auto"`` (the batched implementation when the id has one,
            else sync).
        env_kwargs: keyword arguments for the env.
        terms, weight: reward terms and their weights; when given, the env is wrapped in a
            :class:`~rewardshaping.wrappers.ShapedVectorEnv`.
        autoreset_mode: ``NEXT_STEP`` (default) or ``SAME_STEP``.

    Example:
        >>> from rewardshaping import StepPenalty
        >>> envs = make_vector_env("rewardshaping/KeyDoor-Easy-v0", 4, terms=StepPenalty(-0.01))
        >>> type(envs).__name__, type(envs.unwrapped).__name__, envs.num_envs
        ('ShapedVectorEnv', 'KeyDoorVectorEnv', 4)
    """
    if vectorization not in VECTORIZATIONS:
        raise ValueError(f"vectorization must be one of {VECTORIZATIONS}, got {vectorization!r}")
    _ensure_registered(env_id)
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as exc:
        raise ValueError(f"unknown env id {env_id!r}: {exc}") from None
    mode = AutoresetMode(autoreset_mode)
    kwargs = dict(env_kwargs or {})
    if vectorization == "auto":
        native = spec.vector_entry_point is not None and spec.id.startswith("rewardshaping/")
        vectorization = "vector_entry_point" if native else "sync"
    if vectorization == "vector_entry_point":
        if spec.vector_entry_point is None:
            raise ValueError(
                f"{env_id} has no batched implementation (vector_entry_point); use "
                "vectorization='sync' or 'async'"
            )
        if mode is not AutoresetMode.NEXT_STEP:  # batched envs default to NEXT_STEP
            kwargs["autoreset_mode"] = mode
        envs = gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point", **kwargs)
        if envs.metadata.get("autoreset_mode") != mode:
            raise ValueError(
                f"{env_id}'s batched implementation runs in {envs.metadata.get('autoreset_mode')} "
                f"autoreset mode, not {mode}"
            )
    else:
        envs = gym.make_vec(
            env_id,
            num_envs,
            vectorization_mode=vectorization,
            vector_kwargs={"autoreset_mode": mode},
            wrappers=[_minigrid_image],
            **kwargs,
        )
    if terms is not None:
        envs = ShapedVectorEnv(envs, terms, weight=weight)
    return envs


def find_shaped(envs: VectorEnv) -> ShapedVectorEnv | None:
    """The outermost :class:`~rewardshaping.wrappers.ShapedVectorEnv` in a wrapper stack."""
    e: Any = envs
    while e is not None:
        if isinstance(e, ShapedVectorEnv):
            return e
        e = getattr(e, "env", None)
        if not isinstance(e, VectorEnv):
            return None
    return None


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else MPS if available, else CPU; else as given.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but torch sees no CUDA device")
    return dev
