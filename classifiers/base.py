"""The classifier contract: a batch of texts in, one prediction per text out.

Modelled on scikit-learn's estimator contract: the constructor only stores its
keyword arguments, heavy work happens in :meth:`Classifier.load`, and loaded
state ends in ``_``. Any implementation can check itself with
:func:`classifiers.checks.check_classifier`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

LABELS: tuple[str, ...] = ("praise", "complaint", "question", "suggestion", "other")


@dataclass(frozen=True)
class Prediction:
    """What a classifier says of one text; ``scores`` sum to 1 over :data:`LABELS`."""

    label: str
    confidence: float
    scores: dict[str, float]
    lang: str | None = None


class Classifier(ABC):
    """Implement ``name``, ``version``, :meth:`load` and :meth:`predict`.

    ``predict`` is called from a worker thread, never on the event loop, with
    batches of up to a few hundred texts; it must not keep per-call state.
    """

    name: str = "classifier"
    version: str = "0"

    def load(self) -> "Classifier":
        """Load weights; called once before the first :meth:`predict`. Returns self."""
        return self

    @abstractmethod
    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One :class:`Prediction` per text, in order."""
