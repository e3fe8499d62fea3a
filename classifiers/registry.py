"""Find classifiers by name through the ``points_of_truth.classifiers`` entry point group.

An engineer adds a model by publishing a package that declares, in its own
``pyproject.toml``::

    [project.entry-points."points_of_truth.classifiers"]
    my-model = "my_package.module:MyClassifier"

and then runs ``pot run --classifier my-model``; the core is not edited.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

from .base import Classifier

GROUP = "points_of_truth.classifiers"


class UnknownClassifier(LookupError):
    """No entry point of that name is installed."""


def available() -> list[str]:
    """Names of the installed classifiers."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def _instantiate(cls: Any, where: str, params: dict[str, Any]) -> Classifier:
    instance = cls(**params)
    if not isinstance(instance, Classifier):
        raise TypeError(f"{where} does not implement classifiers.base.Classifier")
    return instance


def create(name: str, **params: Any) -> Classifier:
    """Instantiate (not load) the classifier registered as ``name``.

    ``name`` may also be ``module:Class``, to try a classifier before packaging it.
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            cls = getattr(import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise UnknownClassifier(f"cannot import {name!r}: {exc}") from None
        return _instantiate(cls, name, params)
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return _instantiate(ep.load(), ep.value, params)
    raise UnknownClassifier(f"no classifier named {name!r}; installed: {', '.join(available()) or 'none'}")
