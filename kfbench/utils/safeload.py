"""Reading weights files as data, never as code: weights-only torch.load and TorchScript archives without their code.

Every loader of a user's file goes through here:

- :func:`load_weights_only`: ``torch.load(weights_only=True)``; any failure (a pickle that would import a
  function, a TorchScript archive, truncated or random bytes) is one :class:`KfbenchError` line.
- :func:`read_torchscript`: the tensors of a TorchScript archive's module tree, by attribute path
  (``fuse.convs.0.0.weight``). ``data.pkl`` is unpickled by an unpickler that can only rebuild tensors
  from the archive's ``data/`` entries, plain containers and placeholders for the archive's classes;
  the compiled code (``code/``) is never read, so a ``__setstate__`` in it never runs.
- :func:`run_torchscript`: ``torch.jit.load``, which runs the archive's code; only reached through
  the explicit opt-in :data:`CODE_FLAG`.
- :func:`check_diffusers_folder`: a diffusers pipeline folder is loaded only when it names no custom
  code and holds safetensors weights (loaders pass ``use_safetensors=True``, never ``trust_remote_code``).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import io
import json
import pickle
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import torch

from kfbench.errors import KfbenchError

CODE_FLAG = "--allow-torchscript-code"

# TorchScript's pickler names storages torch.<ScalarType>Storage.
_STORAGE_DTYPES = {
    "FloatStorage": torch.float32,
    "DoubleStorage": torch.float64,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
}


def is_torchscript(path: Path) -> bool:
    """A TorchScript archive is a zip with a code/ folder; torch.save archives have none."""
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith("code/") or "/code/" in name for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


DATA_CLASSES = (argparse.Namespace,)
"""Classes a weights-only load may rebuild besides tensors and containers: plain attribute holders (VideoMAE-v2's
non-DeepSpeed checkpoints keep their training ``args`` beside ``model``). Nothing else, and only within the call."""


def load_weights_only(path: Path, what: str, *, mmap: bool = True) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; a file that is not plain weights is a one-line error.

    ``mmap`` (the default) memory-maps zip-format files, so a large checkpoint is not read whole into
    memory (legacy files cannot be mapped and are read whole). :data:`DATA_CLASSES` are allowed.
    """
    if is_torchscript(path):
        raise KfbenchError(
            f"{what} '{path}' is a TorchScript archive, not a saved state_dict; pass the state_dict file"
        )
    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(list(DATA_CLASSES)):
            # e.g. "Detected pickle protocol 4": the load fails or succeeds anyway
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True, mmap=mmap and zipfile.is_zipfile(path))
    except pickle.UnpicklingError as exc:
        code = re.search(r"(?:unsupported|Unsupported global:) GLOBAL (\S+)", str(exc))
        if code:
            raise KfbenchError(
                f"{what} '{path}' is not plain weights: its pickle would import {code.group(1)} (code, not tensors); "
                "kfbench never runs code from a weights file"
            ) from None
        raise KfbenchError(f"{what} '{path}' is not a torch weights file ({first_line(exc)}); re-download it") from None
    except Exception as exc:  # truncated files, random bytes, unreadable files: all one line
        raise KfbenchError(
            f"cannot read {what} '{path}' ({type(exc).__name__}: {first_line(exc)}); re-download it"
        ) from None


def state_dict_of(loaded: Any, what: str, path: Path) -> dict[str, torch.Tensor]:
    """The name -> tensor mapping of a loaded file (a state_dict, or one under a ``state_dict`` key)."""
    if isinstance(loaded, dict) and isinstance(loaded.get("state_dict"), dict):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in loaded.items()
    ):
        raise KfbenchError(f"{what} '{path}' holds no state_dict of tensors (got {type(loaded).__name__})")
    return loaded


def read_torchscript(path: Path, what: str) -> dict[str, torch.Tensor]:
    """The tensors of a TorchScript archive's module tree by attribute path, read without running its code."""
    try:
        with zipfile.ZipFile(path) as archive:
            root = _read_data_pkl(archive)
    except _NotData as exc:
        raise KfbenchError(
            f"{what} '{path}' cannot be read as data: {exc}; kfbench does not run a file's code unless you pass "
            f"{CODE_FLAG}"
        ) from None
    except Exception as exc:  # a truncated archive, a zip that is not TorchScript, a malformed pickle
        raise KfbenchError(
            f"cannot read {what} '{path}' as a TorchScript archive ({type(exc).__name__}: {first_line(exc)})"
        ) from None
    tensors: dict[str, torch.Tensor] = {}
    _collect(root, "", tensors, what, path)
    return tensors


def run_torchscript(path: Path, what: str, *, device: str = "cpu") -> torch.jit.ScriptModule:
    """``torch.jit.load``: RUNS the archive's code. Only for a user who passed :data:`CODE_FLAG`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
            return torch.jit.load(str(path), map_location=device)
    except Exception as exc:
        raise KfbenchError(
            f"cannot load {what} '{path}' with torch.jit.load ({type(exc).__name__}: {first_line(exc)})"
        ) from None


_TORCH_BOILERPLATE = ("Weights only load failed", "Please file an issue", "Check the documentation")


def first_line(exc: BaseException) -> str:
    """The line of an exception's message that says what is wrong (torch's weights-only errors bury it)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    specific = [line for line in lines if not line.startswith(_TORCH_BOILERPLATE)]
    return (specific or lines or ["no details"])[0]


class _NotData(Exception):
    """The archive asks for something other than tensors and plain values."""


class _ScriptObject:
    """An object of one of the archive's classes: its qualified name and pickled state; none of its code."""

    qualified = ""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _identity_list(items: Any) -> list:
    return list(items)


def _restore_type_tag(value: Any, type_str: str) -> Any:
    return value


class _DataUnpickler(pickle.Unpickler):
    """Unpickles a TorchScript ``data.pkl`` into tensors, containers and :class:`_ScriptObject` placeholders."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch.jit._pickle", "build_intlist"): _identity_list,
        ("torch.jit._pickle", "build_doublelist"): _identity_list,
        ("torch.jit._pickle", "build_boollist"): _identity_list,
        ("torch.jit._pickle", "build_tensorlist"): _identity_list,
        ("torch.jit._pickle", "restore_type_tag"): _restore_type_tag,
    }

    def __init__(self, data: bytes, archive: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.prefix = archive, prefix
        self.classes: dict[str, type[_ScriptObject]] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "__torch__" or module.startswith("__torch__."):
            qualified = f"{module}.{name}"
            if qualified not in self.classes:
                self.classes[qualified] = type(name, (_ScriptObject,), {"qualified": qualified})
            return self.classes[qualified]
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        raise _NotData(f"its data.pkl asks for {module}.{name}, which is not a tensor or a plain value")

    def persistent_load(self, pid: Any) -> torch.Tensor:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], torch.dtype)):
            raise _NotData(f"its data.pkl refers to {pid!r}, which is not a tensor storage")
        _, dtype, key, _location, numel = pid
        raw = _read_stored(self.archive, f"{self.prefix}data/{key}")
        itemsize = torch.empty(0, dtype=dtype).element_size()
        if not isinstance(numel, int) or len(raw) != numel * itemsize:
            raise ValueError(f"storage data/{key} holds {len(raw)} bytes, expected {numel} x {itemsize}")
        return torch.frombuffer(bytearray(raw), dtype=dtype) if raw else torch.empty(0, dtype=dtype)


def _rebuild_tensor(storage: torch.Tensor, offset: int, size: tuple, stride: tuple, *_: Any) -> torch.Tensor:
    """A tensor view of a flat storage (``torch._utils._rebuild_tensor_v2``'s arguments; requires_grad etc. ignored)."""
    return storage.as_strided(tuple(size), tuple(stride), offset)


def _read_data_pkl(archive: zipfile.ZipFile) -> Any:
    names = archive.namelist()
    pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
    if len(pickles) != 1 or not any(n.startswith(pickles[0][: -len("data.pkl")] + "code/") for n in names):
        raise ValueError("no <archive>/data.pkl beside a code/ folder")
    prefix = pickles[0][: -len("data.pkl")]
    if prefix + "byteorder" in names and archive.read(prefix + "byteorder").strip() != b"little":
        raise _NotData("its tensors are stored big-endian")
    return _DataUnpickler(_read_stored(archive, pickles[0]), archive, prefix).load()


def _read_stored(archive: zipfile.ZipFile, name: str) -> bytes:
    """An entry's bytes; torch writes its archives uncompressed, so a compressed entry (a zip bomb, say) is refused."""
    if archive.getinfo(name).compress_type != zipfile.ZIP_STORED:
        raise _NotData(f"its entry {name} is compressed, which torch never writes")
    return archive.read(name)


def _collect(node: Any, prefix: str, out: dict[str, torch.Tensor], what: str, path: Path) -> None:
    """Tensors of a module object and its submodules, named like ``state_dict()`` keys."""
    state = node.state if isinstance(node, _ScriptObject) else None
    if not isinstance(state, dict):
        kind = node.qualified if isinstance(node, _ScriptObject) else type(node).__name__
        raise KfbenchError(
            f"{what} '{path}' cannot be read as data: its {kind} object has custom state "
            f"(a __setstate__ in its code); kfbench does not run a file's code unless you pass {CODE_FLAG}"
        )
    for name, value in state.items():
        if isinstance(value, torch.Tensor):
            out[prefix + name] = value
        elif isinstance(value, _ScriptObject):
            _collect(value, f"{prefix}{name}.", out, what, path)


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
LOADABLE_LIBRARIES = ("diffusers", "transformers")
_CONFIG_FILES = ("config.json", "preprocessor_config.json", "scheduler_config.json", "tokenizer_config.json")


def check_diffusers_folder(folder: Path, flag: str) -> None:
    """Refuse a diffusers pipeline folder that would run its own code or load pickled weights.

    Allowed: model_index.json naming a diffusers pipeline class, components from diffusers or
    transformers (or a package of diffusers' own pipelines), no ``*.py`` files, no ``auto_map`` in a component
    config, safetensors weights.
    """

    def refuse(why: str) -> KfbenchError:
        return KfbenchError(
            f"model folder '{folder}' ({flag}) {why}; kfbench loads only plain diffusers folders with safetensors "
            "weights"
        )

    try:
        index = json.loads((folder / "model_index.json").read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(f"has an unreadable model_index.json ({type(exc).__name__}: {exc})") from None
    if not isinstance(index, dict):
        raise refuse(f"has a model_index.json that is a JSON {type(index).__name__}, not an object")
    if not isinstance(index.get("_class_name"), str):
        raise refuse(
            "names a custom pipeline class in model_index.json (its _class_name is not a diffusers class name)"
        )
    code = sorted(str(p.relative_to(folder)) for pattern in ("*.py", "*/*.py") for p in folder.glob(pattern))
    if code:
        raise refuse(f"ships code ({', '.join(code[:3])})")
    for name, entry in index.items():
        if name.startswith("_") or entry in (None, [None, None]) or isinstance(entry, (bool, int, float, str)):
            continue  # pipeline settings (expand_timesteps, boundary_ratio, ...), not components
        library = entry[0] if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) else None
        if library is None or not (library in LOADABLE_LIBRARIES or is_diffusers_pipeline_package(library)):
            raise refuse(f"takes component '{name}' from {entry!r}, not from {' or '.join(LOADABLE_LIBRARIES)}")
        component = folder / name
        for config_name in _CONFIG_FILES:
            if _has_auto_map(component / config_name):
                raise refuse(f"asks for custom code in {name}/{config_name} (auto_map)")
        files = [p.name for p in component.glob("*")] if component.is_dir() else []
        if any(f.endswith(PICKLE_SUFFIXES) for f in files) and not any(f.endswith(".safetensors") for f in files):
            raise refuse(f"has only pickle weights in {name}/ (convert them to .safetensors where you trust them)")


def is_diffusers_pipeline_package(library: str) -> bool:
    """Whether ``library`` names a package of diffusers' own pipelines (``diffusers.pipelines.<library>``), as LTX-2's
    ``["ltx2", "LTX2TextConnectors"]``, which diffusers resolves there."""
    if not library.isidentifier():
        return False
    try:
        return importlib.util.find_spec(f"diffusers.pipelines.{library}") is not None
    except ModuleNotFoundError:
        return False


def _has_auto_map(config: Path) -> bool:
    if not config.is_file():
        return False
    try:
        data = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False  # diffusers/transformers report a malformed config themselves
    return isinstance(data, dict) and "auto_map" in data
