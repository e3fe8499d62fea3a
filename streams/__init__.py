"""points-of-truth's stream processing, by job: :mod:`streams.core` (the rules, pure), :mod:`streams.agents`
(thin faust agents), :mod:`streams.kafka` (broker and Kafka plumbing), :mod:`streams.api` (HTTP),
:mod:`streams.cli` (the ``pot`` command); :mod:`streams.runtime`, :mod:`streams.config`,
:mod:`streams.metrics` and :mod:`streams.clock` are shared by them. docs/architecture.md maps the flow.
"""

__all__: list[str] = []
