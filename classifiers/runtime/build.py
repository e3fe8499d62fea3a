"""``python -m classifiers.runtime.build RUNTIME ENCODER HEAD_DIR OUT``: export one runtime's graph into OUT.

Run by :func:`classifiers.runtime.export.cached_export` in a child process, so that
torch is loaded only there and the serving process stays small.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    from ..provision import resolve_encoder
    from . import create_runtime

    name, encoder, head_dir, out = argv
    runtime = create_runtime(name, Path(head_dir) if head_dir else None, encoder)
    runtime.folder_ = resolve_encoder(encoder)
    runtime.export(Path(out))


if __name__ == "__main__":
    main(sys.argv[1:])
