"""Checkpoint helpers: atomic saving and snapshots of a vector env's exact state.

A run resumes *exactly* only if the environments continue the very episodes they were in, with
the same random streams. :func:`snapshot_envs` captures that for the env stacks it can:

* envs with ``state_dict()``/``load_state_dict()`` (our :class:`~rewardshaping.envs.gridworld.KeyDoorVectorEnv`);
* ``SyncVectorEnv`` whose sub-envs pickle their full state (classic control, MiniGrid, ...);
* vector wrappers, whose attributes are pickled (reward terms excluded: their state travels
  through ``RewardPipeline.state_dict``).

It returns None, with the reason, for stacks it cannot capture: ``AsyncVectorEnv`` (state in
other processes) and envs that pickle by re-construction (``gymnasium.utils.EzPickle``, e.g.
MuJoCo and Box2D envs), whose in-flight episodes would be silently lost. Checkpoints are pickles:
load only files you trust.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from gymnasium.vector import SyncVectorEnv, VectorEnv, VectorWrapper

__all__ = [
    "restart_episodes",
    "snapshot_or_warn",
    "atomic_save",
    "load_checkpoint",
    "snapshot_envs",
    "restore_envs",
    "vector_layers",
]

# Attributes of wrappers that are either references or carried by the pipeline's state_dict.
_SKIP = {"env", "pipeline", "_saved_kwargs"}
_SYNC_STATE = (
    "envs",
    "_env_obs",
    "_observations",
    "_rewards",
    "_terminations",
    "_truncations",
    "_autoreset_envs",
)


def atomic_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename: a crash mid-write
    never leaves a truncated checkpoint.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp()
        >>> p = atomic_save({"x": 1}, os.path.join(d, "ckpt.pt"))
        >>> load_checkpoint(p)["x"]
        1
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint written by :func:`atomic_save` (a pickle: trusted files only)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location=map_location, weights_only=False)


def vector_layers(envs: VectorEnv) -> list[VectorEnv]:
    """The wrapper chain of a vector env, outermost first, base env last.

    Example:
        >>> import gymnasium as gym
        >>> from rewardshaping import ShapedVectorEnv, StepPenalty
        >>> envs = ShapedVectorEnv(gym.make_vec("CartPole-v1", 2, vectorization_mode="sync"), StepPenalty())
        >>> [type(e).__name__ for e in vector_layers(envs)]
        ['ShapedVectorEnv', 'SyncVectorEnv']
    """
    out = [envs]
    while isinstance(out[-1], VectorWrapper):
        out.append(out[-1].env)
    return out


def snapshot_or_warn(envs: VectorEnv, started: bool) -> dict[str, Any] | None:
    """:func:`snapshot_envs` for an agent's checkpoint: None before the envs were ``started``,
    and None with a ``RuntimeWarning`` (a resumed run restarts its episodes) when the envs'
    state cannot be captured."""
    if not started:
        return None
    snapshot, why = snapshot_envs(envs)
    if why:
        warnings.warn(
            f"the env state cannot be saved ({why}); a resumed run restarts its episodes "
            "and will not match an uninterrupted one exactly",
            RuntimeWarning,
            stacklevel=4,  # the caller of the agent's state_dict / save
        )
    return snapshot


#: A resumed run that cannot restore some random state (the envs', a generator on another
#: device) seeds it with ``seed + RESEED_STRIDE * step reached``, so it does not replay the
#: run's first draws.
RESEED_STRIDE = 7919


def restart_episodes(envs: VectorEnv, seed: int, step: int, episodes: Any) -> Any:
    """New episodes for a resumed run whose env state was not saved: ``envs`` reset with a seed
    that depends on the ``step`` reached (so they do not replay the run's first episodes), and
    the episode tracker's running returns and lengths cleared. Returns the observations."""
    obs, _ = envs.reset(seed=seed + RESEED_STRIDE * step)
    episodes.returns[:] = 0
    episodes.lengths[:] = 0
    return obs


def snapshot_envs(envs: VectorEnv) -> tuple[dict[str, Any] | None, str]:
    """``(snapshot, "")`` capturing the exact state of ``envs``, or ``(None, reason)``.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> envs = gym.make_vec("CartPole-v1", 2, vectorization_mode="sync")
        >>> _ = envs.reset(seed=0)
        >>> snap, why = snapshot_envs(envs)
        >>> a = envs.step(np.array([0, 1]))[0]
        >>> restore_envs(envs, snap)
        >>> bool((envs.step(np.array([0, 1]))[0] == a).all())
        True
    """
    layers = vector_layers(envs)
    states: list[Any] = []
    for layer in layers:
        if isinstance(layer, SyncVectorEnv):
            for sub in layer.envs:
                for e in _env_chain(sub):
                    if isinstance(e, gym.utils.EzPickle):
                        return None, (
                            f"{type(e).__name__} pickles by re-construction (EzPickle), which "
                            "would lose its episodes in flight"
                        )
            state = {k: getattr(layer, k) for k in _SYNC_STATE}
        elif hasattr(layer, "state_dict") and hasattr(layer, "load_state_dict"):
            states.append(("state_dict", layer.state_dict()))
            continue
        elif isinstance(layer, VectorWrapper):
            state = {k: v for k, v in vars(layer).items() if k not in _SKIP and not callable(v)}
        else:
            return None, f"{type(layer).__name__} keeps its state where it cannot be saved"
        try:
            states.append(("vars", pickle.dumps(state)))
        except Exception as exc:  # noqa: BLE001 - any pickling failure means "cannot snapshot"
            return None, f"{type(layer).__name__} cannot be pickled ({exc})"
    return {"types": [type(e).__name__ for e in layers], "states": states}, ""


def restore_envs(envs: VectorEnv, snapshot: dict[str, Any]) -> None:
    """Put ``envs`` (built like the ones snapshotted) back into the snapshotted state."""
    layers = vector_layers(envs)
    types = [type(e).__name__ for e in layers]
    if types != snapshot["types"]:
        raise ValueError(
            f"the checkpoint's env stack is {snapshot['types']}, this one is {types}; build the "
            "envs the same way (same wrappers, same vectorization) to resume"
        )
    for layer, (kind, state) in zip(layers, snapshot["states"], strict=True):
        if kind == "state_dict":
            layer.load_state_dict(state)
        else:
            vars(layer).update(pickle.loads(state))


def _env_chain(env: gym.Env) -> list[gym.Env]:
    out = [env]
    while isinstance(out[-1], gym.Wrapper):
        out.append(out[-1].env)
    return out
