"""Find classifiers by name through the ``points_of_truth.classifiers`` entry point group.

An engineer adds a model by publishing a package that declares, in its own
``pyproject.toml``::

    [project.entry-points."points_of_truth.classifiers"]
    my-model = "my_package.module:MyClassifier"

and then runs ``pot run --classifier my-model``; the core is not edited.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from .base import Classifier

GROUP = "points_of_truth.classifiers"


class UnknownClassifier(LookupError):
    """No entry point of that name is installed."""


def available() -> list[str]:
    """Names of the installed classifiers."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def create(name: str, **params: Any) -> Classifier:
    """Instantiate (not load) the classifier registered as ``name``."""
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            cls = ep.load()
            instance = cls(**params)
            if not isinstance(instance, Classifier):
                raise TypeError(f"{ep.value} does not implement classifiers.base.Classifier")
            return instance
    raise UnknownClassifier(f"no classifier named {name!r}; installed: {', '.join(available()) or 'none'}")
