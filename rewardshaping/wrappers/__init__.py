"""Adapters that apply reward terms to environments.

- :class:`ShapedEnv`: a single ``gymnasium.Env`` (a batch of one).
- :class:`ShapedVectorEnv`: a ``gymnasium.vector.VectorEnv`` (NEXT_STEP / SAME_STEP autoreset).
- :class:`ShapedVecEnv`: a stable-baselines3 ``VecEnv`` (imported lazily: it pulls in SB3).

All three are thin: they build :class:`~rewardshaping.transitions.Transitions` and call a
:class:`~rewardshaping.pipeline.RewardPipeline`. May import: ``rewardshaping`` core modules.
"""

from rewardshaping.wrappers.single import ShapedEnv
from rewardshaping.wrappers.vector import ShapedVectorEnv, autoreset_mode_of

__all__ = ["ShapedEnv", "ShapedVectorEnv", "ShapedVecEnv", "autoreset_mode_of"]


def __getattr__(name: str):
    if name == "ShapedVecEnv":
        from rewardshaping.wrappers.sb3 import ShapedVecEnv

        return ShapedVecEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
