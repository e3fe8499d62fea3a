"""The web desk's settings, ``POT_DESK_*``: the ``desk`` section of the one settings tree.

Defined in :mod:`streams.config_sections` (``settings.desk``) so that ``pot config`` lists them and a
misspelt ``POT_DESK_*`` name is reported; this name stays for the desk's modules.
"""

from __future__ import annotations

from ...config_sections import DeskSection as DeskSettings

__all__ = ["DeskSettings"]
