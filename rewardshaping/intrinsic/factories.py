"""Registry entries for count-based bonuses, so suite files and the CLI can name them.

Keys in configs: ``"obs"`` (the raw observation bytes, default) or ``"info:NAME"`` (an info
value, e.g. ``"info:agent_pos"`` with the ``agent_position_info`` wrapper on MiniGrid).

- ``count_bonus``: :class:`CountBonus` (beta, mode ``sqrt``/``inverse``, key);
- ``episodic_count_bonus``: :class:`EpisodicCountBonus` (beta, mode ``sqrt``/``first_visit``, key);
- ``global_episodic_count_bonus``: :class:`GlobalEpisodicCountBonus`;
- ``noveld_count``: :class:`NovelDCount` (beta, alpha, key);
- wrapper ``agent_position_info``: :class:`AgentPositionInfo`.
"""

from __future__ import annotations

from rewardshaping.intrinsic.count import CountBonus, EpisodicCountBonus, GlobalEpisodicCountBonus
from rewardshaping.intrinsic.keys import InfoKey, ObsKey
from rewardshaping.intrinsic.noveld import NovelDCount
from rewardshaping.intrinsic.positions import AgentPositionInfo
from rewardshaping.registry import ConfigError, register_term, register_wrapper

__all__ = ["config_key"]


def config_key(key: str):
    """A state key from its config name.

    Example:
        >>> config_key("info:agent_pos")
        InfoKey('agent_pos')
    """
    if key == "obs":
        return ObsKey()
    if isinstance(key, str) and key.startswith("info:") and len(key) > 5:
        return InfoKey(key[5:])
    raise ConfigError(f"unknown count key {key!r}; use 'obs' or 'info:NAME'")


@register_term("count_bonus")
def _count_bonus(beta: float = 0.01, mode: str = "sqrt", key: str = "obs"):
    return CountBonus(config_key(key), beta=beta, mode=mode)


@register_term("episodic_count_bonus")
def _episodic(beta: float = 0.01, mode: str = "sqrt", key: str = "obs"):
    return EpisodicCountBonus(config_key(key), beta=beta, mode=mode)


@register_term("global_episodic_count_bonus")
def _global_episodic(
    beta: float = 0.01, mode: str = "sqrt", episodic: str = "sqrt", key: str = "obs"
):
    return GlobalEpisodicCountBonus(config_key(key), beta=beta, mode=mode, episodic=episodic)


@register_term("noveld_count")
def _noveld(beta: float = 0.01, alpha: float = 0.5, key: str = "obs"):
    return NovelDCount(config_key(key), beta=beta, alpha=alpha)


register_wrapper("agent_position_info", lambda env: AgentPositionInfo(env))
