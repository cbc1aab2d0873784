"""Import ultralytics with every network feature off.

ultralytics checks the network (DNS), may pip-install missing export
requirements and syncs settings/analytics. Our code must never download at
run time, so the environment switches are set before the first import, and
models are built from their yaml (random init) or loaded from local files.
"""

from __future__ import annotations

import os
from types import ModuleType

from rehab_core.errors import BackendUnavailableError

OFFLINE_ENV = {
    "YOLO_OFFLINE": "1",  # is_online() -> False: no DNS probe, no downloads or analytics
    "YOLO_AUTOINSTALL": "false",  # never pip-install missing requirements
    "YOLO_VERBOSE": "false",
}


def import_ultralytics() -> ModuleType:
    """``ultralytics`` with offline settings; ``BackendUnavailableError`` when not installed."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ultralytics
    except ImportError as err:
        raise BackendUnavailableError(
            f"this needs ultralytics: pip install ultralytics ({err})"
        ) from err
    _provide_plot_fonts()
    return ultralytics


def _provide_plot_fonts() -> None:
    """Put matplotlib's DejaVu Sans where ultralytics looks for Arial.

    ultralytics' ``check_font`` (called when a dataset is checked) probes
    GitHub for Arial.ttf even offline. The font only labels plots, so a local
    stand-in from the matplotlib wheel in ultralytics' config dir avoids any
    network access.
    """
    import shutil

    try:
        from matplotlib import font_manager
        from ultralytics.utils import USER_CONFIG_DIR
    except ImportError:
        return
    source = font_manager.findfont("DejaVu Sans", fallback_to_default=True)
    for name in ("Arial.ttf", "Arial.Unicode.ttf"):
        target = USER_CONFIG_DIR / name
        if not target.exists():
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
            except OSError:
                return  # read-only config dir: ultralytics falls back to no font
