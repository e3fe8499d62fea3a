"""The stream side of points-of-truth: faust app, records, validation, routing, HTTP API and CLI."""
