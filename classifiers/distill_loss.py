"""The layer-by-layer part of a student's training objective (:mod:`classifiers.distill`)."""

from __future__ import annotations

from typing import Any

__all__ = ["layer_loss"]


def layer_loss(student_states: Any, teacher_states: Any, keep: list[int], attention_mask: Any) -> Any:
    """Mean over the student's layers of the masked squared error to the teacher layer it was copied from.

    Student layer ``j`` answers to teacher layer ``keep[j]`` (hidden-state tuples
    start with the embeddings, hence the ``+ 1``). Each error is divided by the
    teacher state's mean square, so layers of larger scale do not outweigh the
    rest. Why: the pooled output is one 384-number target per post; every layer's
    states of every token teach far more per post (TinyBERT, Jiao et al. 2020),
    which counts when the training posts are all there is.
    """
    import torch

    mask = attention_mask.unsqueeze(-1).float()
    tokens = mask.sum() * student_states[-1].shape[-1]
    losses = []
    for j, i in enumerate(keep):
        s, t = student_states[j + 1].float(), teacher_states[i + 1].float().detach()
        losses.append((((s - t) ** 2) * mask).sum() / tokens / ((t**2) * mask).sum().div(tokens).clamp(min=1e-6))
    return torch.stack(losses).mean()
