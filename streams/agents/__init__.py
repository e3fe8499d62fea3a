"""Thin faust agents: decode a record, call the pure step in :mod:`streams.core`, send what it returns.

One module per job: :mod:`.intake` (triage, classify), :mod:`.route`,
:mod:`.clock` (the SLA clock), :mod:`.digests`, :mod:`.surges`, :mod:`.timer`,
:mod:`.delivery` (the notify pipelines); :mod:`.app` builds the worker.
"""

from .app import create_worker

__all__ = ["create_worker"]
