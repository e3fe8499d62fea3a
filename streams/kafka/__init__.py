"""Kafka plumbing: the embedded broker, the faust/aiokafka fixes, acking, readers outside the consumer group,
table-key expiry and the topic names.

Modules: :mod:`.broker`, :mod:`.patches`, :mod:`.acking`, :mod:`.readers`,
:mod:`.expiry`, :mod:`.topics`. Importing this package imports nothing from
faust (the CLI reads :mod:`.topics` before the worker starts); import the
modules themselves.
"""

__all__: list[str] = []
