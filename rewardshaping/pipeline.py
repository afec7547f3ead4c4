"""The one piece of machinery every adapter shares: terms + weights + composer + bookkeeping.

An adapter (single env, vector env, SB3 VecEnv, our PPO) only translates its env's step into
arrays and calls :meth:`RewardPipeline.step`; everything that must behave identically everywhere
lives here: validating term outputs, zeroing inactive (dummy autoreset) entries, weight schedules,
composition, episode-step counters and per-episode sums of every term.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from rewardshaping.composers import Composer, WeightedSum
from rewardshaping.schedules import Constant, Schedule, as_schedule
from rewardshaping.terms import FunctionTerm, RewardTerm
from rewardshaping.transitions import Transitions

__all__ = ["RewardPipeline", "ShapedStep", "RewardTermError", "OnInvalid"]

OnInvalid = Literal["raise", "clip", "zero"]
TermsLike = RewardTerm | Callable | Iterable[RewardTerm] | Mapping[str, RewardTerm]
WeightsLike = float | Schedule | Mapping[str, float | Schedule] | Iterable[float | Schedule]


class RewardTermError(ValueError):
    """A term returned something that is not a finite float array of shape (N,)."""


@dataclass
class ShapedStep:
    """What the pipeline computed for one step.

    Attributes:
        reward: the composed reward, float32 (N,). Equal to ``env_reward`` where inactive.
        env_reward: the env's own reward, float32 (N,).
        values: term name -> weighted value, float32 (N,), zero where inactive.
        intrinsic: sum of the weighted values of intrinsic terms, float32 (N,).
        ended: bool (N,), active transitions that ended their episode.
        episode_sums: for the envs in ``ended``: ``{"env_reward": ..., name: ...}`` arrays of
            shape (N,) (entries of envs that did not end are 0), or None when no episode ended.
        episode_lengths: int (N,) lengths of the ended episodes (0 elsewhere), or None.
    """

    reward: np.ndarray
    env_reward: np.ndarray
    values: dict[str, np.ndarray]
    intrinsic: np.ndarray
    ended: np.ndarray
    episode_sums: dict[str, np.ndarray] | None
    episode_lengths: np.ndarray | None


class RewardPipeline:
    """Terms, their weights and a composer, applied to batches of N transitions.

    Args:
        terms: a term, a callable (wrapped in :class:`FunctionTerm`), a list of terms, or a
            dict name -> term (names override the terms' own).
        num_envs: N.
        weight: one weight for every term, a list (one per term) or a dict name -> weight;
            each weight a number or a :class:`~rewardshaping.schedules.Schedule` over real
            env steps.
        composer: how values combine with the env reward (default :class:`WeightedSum`).
        on_invalid: what to do with NaN/inf from a term: ``"raise"`` (default) an error naming
            the term and env index; ``"clip"`` NaN -> 0 and +-inf -> the bounds of
            ``clip_range``; ``"zero"`` non-finite -> 0. Finite values are left alone. Both
            non-raising modes warn once per term.
        clip_range: the values ``on_invalid="clip"`` gives -inf and +inf.

    Example:
        >>> import numpy as np
        >>> from rewardshaping import StepPenalty
        >>> p = RewardPipeline(StepPenalty(-1.0), num_envs=2, weight=0.25)
        >>> out = p.step(np.zeros(2), np.zeros(2), np.zeros(2), np.array([1.0, 0.0]),
        ...              terminated=np.array([True, False]), truncated=np.zeros(2, bool))
        >>> out.reward.tolist(), out.episode_sums["step_penalty"].tolist()
        ([0.75, -0.25], [-0.25, 0.0])
    """

    def __init__(
        self,
        terms: TermsLike,
        num_envs: int,
        weight: WeightsLike = 1.0,
        composer: Composer | None = None,
        on_invalid: OnInvalid = "raise",
        clip_range: tuple[float, float] = (-1e3, 1e3),
    ) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.num_envs = int(num_envs)
        self.terms = _as_terms(terms)
        self.names = [t.name for t in self.terms]
        self.weights = _as_weights(weight, self.names)
        for term, w in zip(self.terms, self.weights, strict=True):
            if term.potential_based and not isinstance(w, Constant):
                # w_t (gamma Phi(s') - Phi(s)) with w changing over time no longer telescopes:
                # the shaped return depends on the path, and the optimal policy can change.
                raise ValueError(
                    f"term {term.name!r} is potential-based shaping and cannot take the schedule "
                    f"{w!r}: a weight that changes over time breaks its policy invariance. Give "
                    "it a constant weight, or scale its potential instead"
                )
        self.composer = composer if composer is not None else WeightedSum()
        if not isinstance(self.composer, Composer):
            raise TypeError(
                f"composer must be a rewardshaping Composer, got {type(self.composer).__name__}"
            )
        self.composer.bind(self.names)
        if on_invalid not in ("raise", "clip", "zero"):
            raise ValueError(f"on_invalid must be 'raise', 'clip' or 'zero', got {on_invalid!r}")
        self.on_invalid = on_invalid
        self.clip_range = (float(clip_range[0]), float(clip_range[1]))
        self.intrinsic_names = [t.name for t in self.terms if t.intrinsic]
        self.global_step = 0
        n = self.num_envs
        self._episode_step = np.zeros(n, dtype=np.int64)
        self._ep_env = np.zeros(n, dtype=np.float64)
        self._ep_terms = np.zeros((len(self.terms), n), dtype=np.float64)
        self._warned: set[str] = set()

    # -- episodes -----------------------------------------------------------------------------
    def reset(self, mask: np.ndarray | None = None) -> None:
        """Episodes start in the envs where ``mask`` is True (all when None).

        ``mask`` is a bool array of shape (num_envs,). Env indices or 0/1 numbers raise: cast to
        bool, ``[0, 1]`` would restart only env 1 where both were meant.
        """
        if mask is None:
            mask = np.ones(self.num_envs, bool)
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(
                f"reset mask must be a bool array of shape ({self.num_envs},), got "
                f"{mask.dtype} {mask.shape}"
            )
        if not mask.any():
            return
        self._episode_step[mask] = 0
        self._ep_env[mask] = 0.0
        self._ep_terms[:, mask] = 0.0
        for term in self.terms:
            term.reset(mask)

    # -- one step -----------------------------------------------------------------------------
    def make_batch(
        self,
        obs: Any,
        action: Any,
        next_obs: Any,
        reward: Any,
        terminated: Any,
        truncated: Any,
        infos: Mapping[str, Any] | None = None,
        active: np.ndarray | None = None,
    ) -> Transitions:
        """The :class:`Transitions` for this step, with the pipeline's step counters."""
        n = self.num_envs
        reward = _as_vector(reward, n, np.float32, "env reward")
        terminated = _as_vector(terminated, n, bool, "terminated")
        truncated = _as_vector(truncated, n, bool, "truncated")
        active = np.ones(n, bool) if active is None else _as_vector(active, n, bool, "active")
        return Transitions(
            obs=obs,
            action=action,
            next_obs=next_obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            infos={} if infos is None else infos,
            active=active,
            episode_step=self._episode_step.copy(),
            global_step=self.global_step,
        )

    def step(
        self, obs, action, next_obs, reward, terminated, truncated, infos=None, active=None
    ) -> ShapedStep:
        """Compute every term for one step and compose the reward (see :class:`ShapedStep`)."""
        batch = self.make_batch(obs, action, next_obs, reward, terminated, truncated, infos, active)
        return self.apply(batch)

    def apply(self, batch: Transitions) -> ShapedStep:
        """Like :meth:`step`, for a batch already built (e.g. by :meth:`make_batch`)."""
        active = batch.active
        all_active = bool(active.all())
        values: dict[str, np.ndarray] = {}
        for k, term in enumerate(self.terms):
            w = self.weights[k](self.global_step)
            values[term.name] = self._checked(
                term, term(batch), batch.num_envs, active, all_active, w
            )
        env_reward = batch.reward
        composed = np.asarray(self.composer(env_reward, values), dtype=np.float32)
        if not all_active:
            composed = np.where(active, composed, env_reward)
        intrinsic = np.zeros(batch.num_envs, np.float32)
        for name in self.intrinsic_names:
            intrinsic += values[name]

        # Bookkeeping: sums over the episode of real transitions only.
        if all_active:
            self._ep_env += env_reward
            for k, name in enumerate(self.names):
                self._ep_terms[k] += values[name]
            self._episode_step += 1
            self.global_step += batch.num_envs
            ended = batch.terminated | batch.truncated
        else:
            self._ep_env += np.where(active, env_reward, 0.0)
            for k, name in enumerate(self.names):
                self._ep_terms[k] += values[name]  # already zero where inactive
            self._episode_step += active
            self.global_step += int(active.sum())
            ended = (batch.terminated | batch.truncated) & active
        sums = lengths = None
        if ended.any():
            sums = {"env_reward": np.where(ended, self._ep_env, 0.0)}
            for k, name in enumerate(self.names):
                sums[name] = np.where(ended, self._ep_terms[k], 0.0)
            lengths = np.where(ended, self._episode_step, 0)
        return ShapedStep(composed, env_reward, values, intrinsic, ended, sums, lengths)

    def _checked(
        self,
        term: RewardTerm,
        out: Any,
        n: int,
        active: np.ndarray,
        all_active: bool,
        weight: float = 1.0,
    ) -> np.ndarray:
        """The term's output as float32 (n,), zero where inactive, times ``weight``; non-finite
        values (from the term, or a product that overflows float32) follow ``on_invalid``."""
        if hasattr(out, "detach") and hasattr(out, "cpu"):  # a torch tensor from a learned term
            out = out.detach().cpu().numpy()
        arr = np.asarray(out)
        if arr.dtype.kind not in "fiub":
            raise RewardTermError(
                f"term {term.name!r} returned dtype {arr.dtype}; expected a float array of shape ({n},)"
            )
        if arr.shape != (n,):
            raise RewardTermError(
                f"term {term.name!r} returned shape {arr.shape}; expected ({n},), one reward per env"
            )
        arr = arr.astype(np.float32, copy=True)
        if not all_active:
            arr[~active] = 0.0
        weighted = weight != 1.0
        if weighted:
            with np.errstate(over="ignore"):
                arr *= np.float32(weight)
        if not np.isfinite(arr).all():
            bad = np.flatnonzero(~np.isfinite(arr))
            if self.on_invalid == "raise":
                why = getattr(term, "last_invalid", None)  # a term's own account, if it has one
                what = f"times its weight {weight} gave" if weighted else "returned"
                raise RewardTermError(
                    f"term {term.name!r} {what} {arr[bad[0]]} at env index {int(bad[0])} "
                    f"(non-finite at indices {bad.tolist()}){': ' + why if why else ''}; fix "
                    f"the term, or pass on_invalid='clip' or 'zero'"
                )
            if term.name not in self._warned:
                self._warned.add(term.name)
                warnings.warn(
                    f"term {term.name!r} returned non-finite rewards at env indices {bad.tolist()}; "
                    f"replaced ({self.on_invalid}); further occurrences are not reported",
                    RuntimeWarning,
                    stacklevel=3,
                )
            if self.on_invalid == "zero":
                arr[bad] = 0.0
            else:  # only the non-finite entries: an env's reward must not depend on another's
                lo, hi = self.clip_range
                arr[bad] = np.nan_to_num(arr[bad], nan=0.0, posinf=hi, neginf=lo)
        return arr

    # -- learning and checkpoints -------------------------------------------------------------
    def update(self, rollout: Any) -> dict[str, float]:
        """Call every term's ``update``; stats are prefixed with the term's name."""
        stats: dict[str, float] = {}
        for term in self.terms:
            for key, value in (term.update(rollout) or {}).items():
                stats[f"{term.name}/{key}"] = value
        return stats

    def state_dict(self) -> dict[str, Any]:
        return {
            "global_step": self.global_step,
            "episode_step": self._episode_step.copy(),
            "ep_env": self._ep_env.copy(),
            "ep_terms": self._ep_terms.copy(),
            "terms": {t.name: t.state_dict() for t in self.terms},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`. The saved terms must be this pipeline's, by name and in
        order, for as many envs; otherwise a ValueError names both, and nothing is changed.

        All or nothing: the saved counters are checked first, then the terms load, and only
        then do the pipeline's own step counters change. A term that refuses its state (a count
        table saved with other settings, say) raises its own exception type with its name in
        the message (the original is the cause), and the terms loaded before it get their own
        states back, so the pipeline keeps running as it was.
        """
        self._check_saved_terms(state)
        counters = self._saved_counters(state)
        self._load_terms(state["terms"])
        self.global_step = counters["global_step"]
        self._episode_step[:] = counters["episode_step"]
        self._ep_env[:] = counters["ep_env"]
        self._ep_terms[:] = counters["ep_terms"]

    def _check_saved_terms(self, state: Mapping[str, Any]) -> None:
        saved = list(state["terms"])
        if saved != self.names:
            raise ValueError(
                f"the saved reward terms are {saved}, these are {self.names}; pass the same "
                "terms (same names, same order) as the run that was saved"
            )
        saved_envs = np.shape(state["episode_step"])
        if saved_envs != (self.num_envs,):
            raise ValueError(
                f"the saved reward-term state is for {saved_envs[0] if saved_envs else '?'} "
                f"envs, this pipeline has {self.num_envs}"
            )

    def _saved_counters(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The saved step counters, converted and shape-checked before anything is changed
        (a bad one must not surface after the terms have already loaded)."""
        out: dict[str, Any] = {"global_step": int(state["global_step"])}
        for key, mine in (
            ("episode_step", self._episode_step),
            ("ep_env", self._ep_env),
            ("ep_terms", self._ep_terms),
        ):
            arr = np.asarray(state[key], dtype=mine.dtype)
            if arr.shape != mine.shape:
                raise ValueError(
                    f"the saved reward-term state's {key!r} has shape {arr.shape}, this "
                    f"pipeline's {mine.shape}"
                )
            out[key] = arr
        return out

    def _load_terms(self, saved: Mapping[str, Any]) -> None:
        """Load every term's saved state; if one refuses, roll the others back and name it.

        The rollback reloads each term's own state, taken before the load, rather than loading
        into copies of the terms and swapping them in: callers hold the term objects (a user's
        ``bonus = CountBonus()``, an agent's hooks), and those must be the ones that load. The
        snapshots are deep copies because a term's state_dict may hand out its live arrays or
        tensors, which its load would overwrite; they cost one copy of every term's state per
        load. A term that cannot reload its own state either raises that error (chained to the
        first), and then earlier terms may stay loaded.
        """
        before = [copy.deepcopy(t.state_dict()) for t in self.terms]
        for k, term in enumerate(self.terms):
            try:
                term.load_state_dict(saved[term.name])
            except Exception as exc:
                # The failing term too: not every term's load is atomic.
                for t, own in zip(self.terms[: k + 1], before, strict=False):
                    t.load_state_dict(own)
                named = _naming_term(exc, term.name)
                if named is None:
                    raise
                raise named from exc


def _naming_term(exc: Exception, name: str) -> Exception | None:
    """``exc``'s type again with the term's name in the message, so that callers catching that
    type still do; None (after adding a note to ``exc``) for a type that needs other arguments."""
    message = f"reward term {name!r} cannot load its saved state: {exc}"
    try:
        return type(exc)(message)
    except Exception:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(message)
        return None


def _as_terms(terms: TermsLike) -> list[RewardTerm]:
    if isinstance(terms, RewardTerm):
        out = [terms]
    elif isinstance(terms, Mapping):
        out = []
        for name, t in terms.items():
            t = _as_term(t)
            t.name = name
            out.append(t)
    elif callable(terms):
        out = [_as_term(terms)]
    elif isinstance(terms, Iterable) and not isinstance(terms, (str, bytes)):
        out = [_as_term(t) for t in terms]
    else:
        raise TypeError(
            f"terms must be a RewardTerm, a callable, a list or a dict of them; got "
            f"{type(terms).__name__}"
        )
    if not out:
        raise ValueError("at least one reward term is needed")
    names = [t.name for t in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"term names must be unique, {dup} repeat; give the terms different names: name=... "
            "when building them (or pass a dict name -> term), or a `name:` key on the term "
            "entries of a suite file ({type: count_bonus, name: count_bonus_pos, ...})"
        )
    if "env_reward" in names:
        raise ValueError("'env_reward' is reserved for the env's own reward; rename the term")
    return out


def _as_term(t: Any) -> RewardTerm:
    if isinstance(t, RewardTerm):
        return t
    if callable(t):
        return FunctionTerm(t)
    raise TypeError(f"expected a RewardTerm or a callable fn(batch), got {type(t).__name__}")


def _as_weights(weight: WeightsLike, names: list[str]) -> list[Schedule]:
    if isinstance(weight, Mapping):
        unknown = sorted(set(weight) - set(names))
        if unknown:
            raise ValueError(f"weights given for unknown term(s) {unknown}; the terms are {names}")
        return [as_schedule(weight.get(n, 1.0)) for n in names]
    if isinstance(weight, (list, tuple)):
        if len(weight) != len(names):
            raise ValueError(f"{len(weight)} weights for {len(names)} terms {names}")
        return [as_schedule(w) for w in weight]
    return [as_schedule(weight) for _ in names]


def _as_vector(x: Any, n: int, dtype: Any, what: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.shape != (n,):
        raise ValueError(f"{what} has shape {arr.shape}; expected ({n},)")
    if dtype is bool and arr.dtype != np.bool_:
        if arr.dtype.kind not in "biu":
            raise TypeError(f"{what} must be boolean, got dtype {arr.dtype}")
        arr = arr.astype(bool)
    elif dtype is not bool:
        if arr.dtype.kind not in "fiub":
            raise TypeError(f"{what} must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(dtype, copy=False)
    return arr
