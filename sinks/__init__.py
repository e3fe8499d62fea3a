"""Alert sinks: the contract, the built-in sinks, and the notify pipeline that drives them."""

from .base import Delivered, DeliveryError, Sink
from .console import ConsoleSink
from .jsonl import JsonlSink

__all__ = ["ConsoleSink", "Delivered", "DeliveryError", "JsonlSink", "Sink"]
