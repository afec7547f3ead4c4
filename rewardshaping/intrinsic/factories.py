"""Registry entries for count-based bonuses, so suite files and the CLI can name them.

Keys in configs: ``"obs"`` (the raw observation bytes, default), ``"info:NAME"`` (an info
value, e.g. ``"info:agent_pos"`` with the ``agent_position_info`` wrapper on MiniGrid) or
``"grid_agent"`` (the agent's cell and state read from a fully observable MiniGrid-encoded
image: ``FullyObsWrapper`` images, or ``rewardshaping/KeyDoor`` with ``obs_mode="image"``).

- ``count_bonus``: :class:`CountBonus` (beta, mode ``sqrt``/``inverse``, key);
- ``episodic_count_bonus``: :class:`EpisodicCountBonus` (beta, mode ``sqrt``/``first_visit``, key);
- ``global_episodic_count_bonus``: :class:`GlobalEpisodicCountBonus`;
- ``noveld_count``: :class:`NovelDCount` (beta, alpha, key);
- wrapper ``agent_position_info``: :class:`AgentPositionInfo`.
"""

from __future__ import annotations

import numpy as np

from rewardshaping.intrinsic.count import CountBonus, EpisodicCountBonus, GlobalEpisodicCountBonus
from rewardshaping.intrinsic.keys import FunctionKey, InfoKey, ObsKey
from rewardshaping.intrinsic.noveld import NovelDCount
from rewardshaping.intrinsic.positions import AgentPositionInfo
from rewardshaping.registry import ConfigError, register_term, register_wrapper

__all__ = ["config_key", "grid_agent_key"]


def grid_agent_key(obs) -> np.ndarray:
    """(row, col, state) of the agent cell (object 10) in MiniGrid-encoded images (N, H, W, 3).

    Counting this instead of the whole image makes counts generalise across random layouts.

    Example:
        >>> img = np.ones((1, 3, 3, 3), np.uint8); img[0, 1, 2] = (10, 0, 1)
        >>> grid_agent_key(img).tolist()
        [[1, 2, 1]]
    """
    image = obs["image"] if isinstance(obs, dict) else np.asarray(obs)
    if image.ndim != 4 or image.shape[-1] != 3:
        raise ValueError(
            f"grid_agent needs MiniGrid-encoded images (N, H, W, 3), got {image.shape}; "
            "for rewardshaping/KeyDoor-* envs pass obs_mode='image'"
        )
    n, h, w, _ = image.shape
    flat = (image[..., 0] == 10).reshape(n, -1)
    if not flat.any(axis=1).all():
        raise ValueError(
            "grid_agent: an observation has no agent cell (object 10); use "
            "fully observable images (minigrid FullyObsWrapper; for rewardshaping/KeyDoor-* "
            "envs pass obs_mode='image')"
        )
    cell = flat.argmax(axis=1)
    rows, cols = cell // w, cell % w
    state = image[np.arange(n), rows, cols, 2]
    return np.stack([rows, cols, state], axis=1).astype(np.int64)


def config_key(key: str):
    """A state key from its config name.

    Example:
        >>> config_key("info:agent_pos")
        InfoKey('agent_pos')
    """
    if key == "obs":
        return ObsKey()
    if key == "grid_agent":
        return FunctionKey(grid_agent_key, name="grid_agent")
    if isinstance(key, str) and key.startswith("info:") and len(key) > 5:
        return InfoKey(key[5:])
    raise ConfigError(f"unknown count key {key!r}; use 'obs', 'grid_agent' or 'info:NAME'")


@register_term("count_bonus", value_arg="beta", help="lifelong count bonus beta/sqrt(N(s'))")
def _count_bonus(beta: float = 0.01, mode: str = "sqrt", key: str = "obs"):
    return CountBonus(config_key(key), beta=beta, mode=mode)


@register_term("episodic_count_bonus", value_arg="beta", help="episodic count bonus")
def _episodic(beta: float = 0.01, mode: str = "sqrt", key: str = "obs"):
    return EpisodicCountBonus(config_key(key), beta=beta, mode=mode)


@register_term(
    "global_episodic_count_bonus",
    value_arg="beta",
    help="lifelong x episodic count bonus (Henaff et al. 2023)",
)
def _global_episodic(
    beta: float = 0.01, mode: str = "sqrt", episodic: str = "sqrt", key: str = "obs"
):
    return GlobalEpisodicCountBonus(config_key(key), beta=beta, mode=mode, episodic=episodic)


@register_term("noveld_count", value_arg="beta", help="NovelD with count novelty")
def _noveld(beta: float = 0.01, alpha: float = 0.5, key: str = "obs"):
    return NovelDCount(config_key(key), beta=beta, alpha=alpha)


register_wrapper("agent_position_info", lambda env: AgentPositionInfo(env))
