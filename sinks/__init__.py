"""Alert sinks: the contract (:mod:`.base`, and :func:`check_sink` as a test), the built-in sinks, the one
registration table of receiver types (:mod:`.registry`), and the notify pipeline of stages (:mod:`.pipeline`)."""

from .base import Delivered, DeliveryError, Sink
from .checks import check_sink
from .console import ConsoleSink
from .jsonl import JsonlSink

__all__ = ["ConsoleSink", "Delivered", "DeliveryError", "JsonlSink", "Sink", "check_sink"]
