"""Classifiers: the contract, the registry and the default multilingual e5 classifier."""

from .base import LABELS, Classifier, Prediction
from .registry import available, create

__all__ = ["LABELS", "Classifier", "Prediction", "available", "create"]
