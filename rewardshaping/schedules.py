"""Weight schedules: a term's weight as a function of the number of real env steps so far.

``beta_t = beta * (1 - kappa) ** t`` (:class:`ExponentialDecay`) is RLeXplore's convention for
intrinsic rewards; :class:`LinearDecay` anneals to a floor over a fixed number of steps.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Schedule", "Constant", "LinearDecay", "ExponentialDecay", "as_schedule"]


class Schedule:
    """A weight that depends on the global step ``t`` (real transitions seen so far)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError


class Constant(Schedule):
    """Always ``value``.

    Example:
        >>> Constant(0.5)(10_000)
        0.5
    """

    def __init__(self, value: float) -> None:
        self.value = _finite(value, "Constant value")

    def __call__(self, step: int) -> float:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value})"


class LinearDecay(Schedule):
    """From ``start`` to ``end`` linearly over ``steps`` steps, then ``end``.

    Example:
        >>> s = LinearDecay(1.0, 0.0, steps=100)
        >>> s(0), s(50), s(1000)
        (1.0, 0.5, 0.0)
    """

    def __init__(self, start: float, end: float, steps: int) -> None:
        self.start = _finite(start, "LinearDecay start")
        self.end = _finite(end, "LinearDecay end")
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            # 0.5 would become 0 steps (a division by zero at the first step), 1.7 silently 1.
            raise ValueError(f"LinearDecay steps must be a whole number >= 1, got {steps!r}")
        self.steps = int(steps)

    def __call__(self, step: int) -> float:
        frac = min(max(step, 0) / self.steps, 1.0)
        return self.start + frac * (self.end - self.start)

    def __repr__(self) -> str:
        return f"LinearDecay({self.start}, {self.end}, steps={self.steps})"


class ExponentialDecay(Schedule):
    """``start * (1 - rate) ** step``, optionally floored at ``end``.

    Example:
        >>> s = ExponentialDecay(1.0, rate=0.5)
        >>> s(0), s(1), s(2)
        (1.0, 0.5, 0.25)
    """

    def __init__(self, start: float, rate: float, end: float = 0.0) -> None:
        self.start = _finite(start, "ExponentialDecay start")
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"ExponentialDecay rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.end = _finite(end, "ExponentialDecay end")

    def __call__(self, step: int) -> float:
        value = self.start * math.exp(max(step, 0) * math.log1p(-self.rate))
        return max(value, self.end) if self.start >= self.end else min(value, self.end)

    def __repr__(self) -> str:
        return f"ExponentialDecay({self.start}, rate={self.rate}, end={self.end})"


def as_schedule(weight: float | Schedule) -> Schedule:
    """A :class:`Schedule` from a number or a schedule (or any callable of the step)."""
    if isinstance(weight, Schedule):
        return weight
    if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
        return Constant(weight)  # NumPy scalars (np.float32(0.5), np.int64(2)) too
    if callable(weight):
        return _CallableSchedule(weight)
    raise TypeError(f"a weight must be a number or a Schedule, got {type(weight).__name__}")


class _CallableSchedule(Schedule):
    def __init__(self, fn) -> None:
        self.fn = fn

    def __call__(self, step: int) -> float:
        # Checked here, not only by the pipeline: a NaN weight times a finite reward is NaN.
        return _finite(self.fn(step), f"the weight {self.fn!r} at step {step}")


def _finite(x: float, what: str) -> float:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {x}")
    return x
