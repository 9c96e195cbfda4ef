"""One base for inverse problems and one declarative parameter validator (DESIGN.md §3).

Every inverse problem in petroinfer (GMRF models, replica exchange, ES-MDA, the P–T path inversions,
sparse isocon, the kinetics estimators, ...) is configured in ``__init__`` and run by ``fit(data)``,
which returns a :class:`~petroinfer.inference.Result`. :class:`InverseProblem` gives all of them the
same small surface:

* ``get_params`` / ``set_params`` (the constructor's keyword arguments, scikit-learn's convention, so a
  configured problem can be copied, logged and re-run);
* a short ``repr`` that shows only the parameters that differ from their defaults;
* ``_validate_params()``, called once at the start of ``fit``, which checks the class attribute
  ``_parameter_constraints`` (scikit-learn's habit) and raises :class:`~petroinfer.errors.ModelError`
  with one message shape: ``ClassName: parameter 'name' must be <what>; got <value>``;
* ``_metadata(...)``, the provenance record of the Result assembled in one place.

Why not ``sklearn.base.BaseEstimator``: an inverse problem's ``fit`` returns a Result rather than
``self``, and it is not a drop-in estimator for ``clone``/``GridSearchCV``; inheriting the estimator
base would advertise a contract these classes do not keep. Machine-learning pieces that *are*
estimators (NMF end-members, clustering, discrimination) do inherit scikit-learn's base.

Constraints are a mapping ``name -> list of accepted forms`` (a value is valid when it matches any):

``Interval(type, low, high, closed="both"|"left"|"right"|"neither")``
    a real or integral number in a range (``None`` = unbounded);
``Options({...})``
    one of a set of values (strings, ints, ``None`` ...);
a type (``str``, ``np.ndarray``, ``callable`` ...)
    an instance of it (``callable`` accepts any callable);
``None``
    the value ``None``;
``"random_state"``
    ``None``, a non-negative int or a :class:`numpy.random.Generator`;
``"array-like"``
    anything numpy can turn into an array.

Examples
--------
>>> class Smoother(InverseProblem):
...     _parameter_constraints = {
...         "order": [Options({1, 2})],
...         "kappa": [Interval(float, 0, None, closed="neither"), None],
...     }
...
...     def __init__(self, order=1, kappa=None):
...         self.order = order
...         self.kappa = kappa
>>> Smoother(order=2)
Smoother(order=2)
>>> Smoother(order=3)._validate_params()
Traceback (most recent call last):
...
petroinfer.errors.ModelError: Smoother: parameter 'order' must be one of {1, 2}; got 3
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from petroinfer.errors import ModelError, format_value

__all__ = ["Interval", "InverseProblem", "Options", "format_value", "validate_params"]


@dataclass(frozen=True)
class Interval:
    """A numeric range constraint; ``type`` is :class:`int` (integral) or :class:`float` (real)."""

    type: type
    low: float | None
    high: float | None
    closed: str = "both"

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, bool):
            return False
        kind = numbers.Integral if self.type is int else numbers.Real
        if not isinstance(value, kind):
            return False
        if not np.isfinite(float(value)) and (self.low is not None or self.high is not None):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (value < self.low or (not left and value == self.low)):
            return False
        return not (
            self.high is not None and (value > self.high or (not right and value == self.high))
        )

    def __str__(self) -> str:
        what = "an int" if self.type is int else "a number"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        lb = "[" if self.closed in ("both", "left") and self.low is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{what} in {lb}{lo}, {hi}{rb}"


@dataclass(frozen=True)
class Options:
    """A constraint to one of a set of values."""

    values: frozenset

    def __init__(self, values: Iterable[Any]) -> None:
        object.__setattr__(self, "values", frozenset(values))

    def is_satisfied_by(self, value: Any) -> bool:
        try:
            return value in self.values and not (
                isinstance(value, bool) and True not in self.values
            )
        except TypeError:  # unhashable
            return False

    def __str__(self) -> str:
        return "one of {" + ", ".join(sorted(repr(v) for v in self.values)) + "}"


def _satisfied(value: Any, constraint: Any) -> bool:
    if constraint is None:
        return value is None
    if constraint is callable:
        return callable(value)
    if constraint == "random_state":
        return (
            value is None
            or isinstance(value, np.random.Generator)
            or (isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0)
        )
    if constraint == "array-like":
        try:
            np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            return False
        return True
    if isinstance(constraint, type):
        if constraint is float:
            return isinstance(value, numbers.Real) and not isinstance(value, bool)
        if constraint is int:
            return isinstance(value, numbers.Integral) and not isinstance(value, bool)
        return isinstance(value, constraint)
    return constraint.is_satisfied_by(value)


def _describe(constraint: Any) -> str:
    if constraint is None:
        return "None"
    if constraint is callable:
        return "a callable"
    if constraint == "random_state":
        return "None, a non-negative int or a numpy Generator"
    if constraint == "array-like":
        return "array-like of numbers"
    if isinstance(constraint, type):
        return f"a {constraint.__name__}"
    return str(constraint)


def validate_params(
    params: Mapping[str, Any], constraints: Mapping[str, list[Any]], owner: str
) -> None:
    """Check ``params`` against ``constraints``; raise :class:`ModelError` naming the first bad one.

    Parameters absent from ``constraints`` are not checked (their owner validates them where their
    meaning needs the data). The message is ``"{owner}: parameter '{name}' must be {a} or {b}; got
    {value}"``.
    """
    for name, accepted in constraints.items():
        if name not in params:
            continue
        value = params[name]
        if any(_satisfied(value, c) for c in accepted):
            continue
        allowed = " or ".join(_describe(c) for c in accepted)
        raise ModelError(
            f"{owner}: parameter {name!r} must be {allowed}; got {format_value(value)}"
        )


class InverseProblem:
    """Base of petroinfer's inverse problems: parameters, ``repr``, validation and metadata.

    Subclasses store every ``__init__`` keyword argument unchanged on an attribute of the same name
    (derived state belongs in ``fit``), declare ``_parameter_constraints`` and call
    ``self._validate_params()`` at the start of ``fit``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        """The constructor parameters of this problem, as a dict (``deep`` is accepted for API parity
        with scikit-learn and has no effect)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> InverseProblem:
        """Set constructor parameters by name; unknown names raise :class:`ModelError`."""
        valid = set(self._param_names())
        for name, value in params.items():
            if name not in valid:
                raise ModelError(
                    f"{type(self).__name__}: unknown parameter {name!r}; "
                    f"valid parameters are {sorted(valid)}"
                )
            setattr(self, name, value)
        return self

    def _validate_params(self) -> None:
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)

    def _metadata(
        self,
        *,
        method: str,
        inputs: tuple[Any, ...] = (),
        random_state: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Provenance for the Result: version, method, seed, these parameters, the input hash."""
        from petroinfer.inference.results import make_metadata

        params = {k: v for k, v in self.get_params().items() if not _is_bulky(v)}
        rs = random_state if random_state is not None else getattr(self, "random_state", None)
        return make_metadata(
            random_state=rs, parameters=params, inputs=inputs, method=method, **extra
        )

    def __repr__(self) -> str:
        sig = inspect.signature(type(self).__init__)
        shown = []
        for name in self._param_names():
            default = sig.parameters[name].default
            value = getattr(self, name, None)
            if default is not inspect.Parameter.empty and _same(value, default):
                continue
            shown.append(f"{name}={_short(value)}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _same(a: Any, b: Any) -> bool:
    if a is b:
        return True
    try:
        eq = a == b
        return bool(eq) if not isinstance(eq, np.ndarray) else False
    except Exception:
        return False


def _is_bulky(value: Any) -> bool:
    return (isinstance(value, np.ndarray) and value.size > 16) or callable(value)


def _short(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"<array {value.shape}>"
    if isinstance(value, Callable):  # type: ignore[arg-type]
        return getattr(value, "__name__", type(value).__name__)
    text = format_value(value, max_len=40)
    return text
