"""Third-party noise kept behind kfbench's own output: warnings, log lines and download/loading bars.

`kfbench --verbose ...` shows them all; otherwise :func:`hide_third_party` (called by the CLI) hides them
and :func:`loading` labels the wait while a model loads.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from kfbench.utils import progress

verbose = False

# Libraries whose warnings are for their developers, not for someone running a benchmark.
THIRD_PARTY = r"(diffusers|transformers|huggingface_hub|accelerate|torch|torchvision|timm|open_clip|av|cv2)(\.|$)"
_QUIET_ENVIRONMENT = {
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "DIFFUSERS_VERBOSITY": "error",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}


def hide_third_party() -> None:
    """Hide third-party deprecation notices, warnings, info logs and progress bars (unless ``verbose``)."""
    if verbose:
        return
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # read by the libraries when they are imported
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", module=THIRD_PARTY)
    _silence_imported()


def _silence_imported() -> None:
    """The same for libraries imported already (their environment variables were read at import)."""
    for package in ("diffusers", "transformers"):
        if package in sys.modules:
            logging = sys.modules.get(f"{package}.utils.logging") or __import__(
                f"{package}.utils.logging", fromlist=["logging"]
            )
            logging.set_verbosity_error()
            logging.disable_progress_bar()
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()


@contextmanager
def loading(what: str) -> Iterator[None]:
    """Label the wait while ``what`` loads: on the running progress bar, else as a line on stderr."""
    if not verbose:
        _silence_imported()
    if progress.has_bar():
        progress.set_status(f"loading {what}")
        try:
            yield
        finally:
            progress.set_status("")
        return
    if progress.enabled:
        print(f"loading {what} ...", file=sys.stderr, flush=True)
    yield
