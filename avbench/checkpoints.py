"""Saved models: weights as safetensors, everything else in a small JSON sidecar.

A checkpoint is two files side by side, named by one stem::

    best.safetensors   the method's ``state_dict()`` (CPU, contiguous tensors)
    best.json          the sidecar: what the weights are and how to rebuild them

Why this format.  Checkpoints travel between machines and people, so avbench treats them as
untrusted input.  A pickle-based file (``torch.save``, Lightning Fabric's checkpoints) runs
code while it loads; safetensors holds only a JSON header and raw tensor bytes, so reading
one executes nothing.  The sidecar holds everything else a user needs in a file small enough
to read by eye: the registered method name and its resolved ``Config`` (enough to rebuild the
module), the decision threshold chosen on validation identities, where the model came from
(dataset fingerprint, protocol, cell, seed, run key, avbench version, git commit, ...), and the
SHA-256 of the weights, so weights that were damaged or swapped are refused.

The sidecar is a JSON object with these keys, plus whatever the caller passed as ``meta``::

    format          "avbench-checkpoint"
    format_version  1
    method          registry name, e.g. "f5c_featdiff" (one class serves several names)
    config          dataclasses.asdict(method.config)
    weights_sha256  hex SHA-256 of the .safetensors file
    avbench_version the avbench that wrote it (unless meta gives its own)

Saving writes the weights first and the sidecar last, each atomically (a temporary file in
the same folder, fsync, ``os.replace``), after removing any older sidecar: a sidecar only
ever describes complete weights, and a crash leaves either the old checkpoint, weights
without a sidecar (refused), or the new checkpoint.

Loading (:func:`load_checkpoint`) validates every value it reads, checks the hash on the very
bytes it then parses, rebuilds the method through the plugin registry exactly as a run does
(:func:`avbench.runner.build_method`) and loads the tensors with ``strict=True``.  It never
unpickles anything.  Every error is a :class:`~avbench.errors.CheckpointError` naming the
file and what to do.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from avbench.errors import CheckpointError

FORMAT = "avbench-checkpoint"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
SIDECAR_SUFFIX = ".json"
MAX_SIDECAR_BYTES = 1_000_000  # a sidecar is a few kB; anything near this is not one of ours
RESERVED_KEYS = ("format", "format_version", "method", "config", "weights_sha256")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_FIX = "re-run the training or download the checkpoint (both files) again"


@dataclass(frozen=True)
class LoadedModel:
    """A method rebuilt from a checkpoint: the module (in eval mode, on the requested
    device), the sidecar's contents (``meta["threshold"]``, ``meta["config"]``, ...) and the
    path of the weights file it was read from."""

    method: Any  # avbench.method.Method; typed loosely so that importing this module needs no torch
    meta: dict[str, Any]
    path: Path


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, sidecar)`` for either file of a checkpoint: ``X.safetensors`` or ``X.json``."""
    path = Path(path)
    if path.suffix == WEIGHTS_SUFFIX:
        return path, path.with_suffix(SIDECAR_SUFFIX)
    if path.suffix == SIDECAR_SUFFIX:
        return path.with_suffix(WEIGHTS_SUFFIX), path
    raise CheckpointError(f"{path}: not an avbench checkpoint name; a checkpoint is a "
                          f"{WEIGHTS_SUFFIX} file with a {SIDECAR_SUFFIX} sidecar of the same stem "
                          f"(e.g. best{WEIGHTS_SUFFIX} and best{SIDECAR_SUFFIX}); pass either of them. "
                          "Pickle-based files (.pt, .ckpt, .pth) are never loaded")


# ----------------------------------------------------------------------------- saving


def save_checkpoint(path: str | Path, method, meta: dict[str, Any], *, method_name: str) -> Path:
    """Write ``method``'s weights to ``path`` (which must end in ``.safetensors``) and the
    sidecar next to it (same stem, ``.json``); return the weights path.

    ``method_name`` is the registered name (``plan.method.name``): it, not the class, says
    which variant the weights belong to.  ``meta`` holds whatever the caller wants kept with
    the model (``threshold``, ``dataset_fingerprint``, ``best_epoch``, ...); it must be
    JSON-serialisable with finite floats (store ``None`` for an undefined number) and may not
    use the keys the format owns (:data:`RESERVED_KEYS`).
    """
    from safetensors.torch import save

    weights, sidecar = Path(path), Path(path).with_suffix(SIDECAR_SUFFIX)
    if weights.suffix != WEIGHTS_SUFFIX:
        raise ValueError(f"save_checkpoint({str(path)!r}): the weights file must end in "
                         f"{WEIGHTS_SUFFIX} (its sidecar is the same stem with {SIDECAR_SUFFIX})")
    if not isinstance(method_name, str) or not method_name:
        raise ValueError(f"save_checkpoint: method_name must be the registered method name, "
                         f"got {method_name!r}")
    if not isinstance(meta, dict):
        raise ValueError(f"save_checkpoint: meta must be a dict, got {type(meta).__name__}")
    clash = [k for k in RESERVED_KEYS if k in meta]
    if clash:
        raise ValueError(f"save_checkpoint: meta may not set {', '.join(clash)}: the checkpoint "
                         "format writes those keys itself")
    config = method.config_dict() if hasattr(method, "config_dict") else dataclasses.asdict(method.config)
    _check_json(config, "the method's config")
    _check_json(meta, "meta")

    tensors = {}
    for key, value in method.state_dict().items():
        if not hasattr(value, "detach"):
            raise ValueError(f"save_checkpoint: state_dict entry {key!r} of {type(method).__name__} is "
                             f"a {type(value).__name__}, not a tensor; safetensors stores tensors only")
        # A copy on the CPU: contiguous, and never sharing storage with another entry (tied
        # weights), which safetensors refuses; load_state_dict fills both names again.
        tensors[key] = value.detach().to("cpu", copy=True).contiguous()
    data = save(tensors, metadata={"format": "pt"})

    document = {"format": FORMAT, "format_version": FORMAT_VERSION, "method": method_name,
                "config": config, "weights_sha256": hashlib.sha256(data).hexdigest()}
    document.update(meta)
    document.setdefault("avbench_version", _avbench_version())
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"

    weights.parent.mkdir(parents=True, exist_ok=True)
    sidecar.unlink(missing_ok=True)  # never an old sidecar next to new weights, even after a crash
    _atomic_write(weights, data)
    _atomic_write(sidecar, text.encode("utf-8"))
    return weights


def store_in_half_precision(path: str | Path) -> tuple[int, int]:
    """Rewrite the checkpoint at ``path`` with its floating-point weights in float16; return
    the weights file's size before and after.

    Why: a results folder meant to be shipped (a repository, a release) holds many models,
    and half of their bytes are mantissa bits that do not change a verification score --
    a model trained under BF16 or FP16 autocast computes in 16 bits anyway.  Loading casts
    the tensors back to the method's own dtype (``load_state_dict`` copies into its
    parameters), so nothing else changes.  The sidecar records ``weights_dtype`` and the
    SHA-256 of the full-precision weights it came from (``full_precision_sha256``), so a
    score computed with the halved model says which model it is.  Integer tensors (counters)
    are kept; a value beyond float16's range is refused, naming the tensor.  A checkpoint
    already in float16 is left as it is.  Both files are rewritten atomically, sidecar last.
    """
    import torch
    from safetensors.torch import save

    weights, sidecar = checkpoint_paths(path)
    meta = read_checkpoint_meta(weights)
    data = _read_weights(weights, meta["weights_sha256"], sidecar)
    if meta.get("weights_dtype") == "float16":
        return len(data), len(data)
    tensors = _parse_weights(data, weights)
    limit = torch.finfo(torch.float16).max
    halved = {}
    for key, value in tensors.items():
        if value.is_floating_point():
            if value.numel() and float(value.abs().max()) > limit:
                raise CheckpointError(f"{weights}: tensor {key} holds values beyond float16's range "
                                      f"(|x| > {limit:g}); keep this checkpoint in full precision")
            value = value.to(torch.float16)
        halved[key] = value.contiguous()
    new = save(halved, metadata={"format": "pt"})
    document = dict(meta)
    document.update({"weights_sha256": hashlib.sha256(new).hexdigest(), "weights_dtype": "float16",
                     "full_precision_sha256": meta["weights_sha256"]})
    text = json.dumps(document, indent=2, allow_nan=False) + "\n"
    sidecar.unlink(missing_ok=True)
    _atomic_write(weights, new)
    _atomic_write(sidecar, text.encode("utf-8"))
    return len(data), len(new)


def _check_json(value: Any, what: str, where: str = "") -> None:
    """Refuse what JSON cannot hold faithfully, naming where it is: non-finite floats (JSON
    has no NaN), non-string keys, and objects that are not JSON types."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"save_checkpoint: {what}{where} is {value}; JSON has no NaN or Infinity, "
                         "store None for an undefined number")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"save_checkpoint: {what}{where} has key {k!r}, not a string")
            _check_json(v, what, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json(v, what, f"{where}[{i}]")
    elif not (value is None or isinstance(value, (str, int, float))):
        raise ValueError(f"save_checkpoint: {what}{where} is a {type(value).__name__} ({value!r}), "
                         "not a JSON value; convert it (e.g. float(x), str(path)) first")


def _atomic_write(path: Path, data: bytes) -> None:
    """``path`` holds either its old content or all of ``data``, never a part (fsync, then
    rename in the same folder, then fsync the folder so the rename itself is durable)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the checkpoint from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # folders cannot be opened on some platforms (Windows): the rename stands
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _avbench_version() -> str:
    import avbench

    return avbench.__version__


# ----------------------------------------------------------------------------- reading


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The validated sidecar of the checkpoint at ``path`` (the ``.safetensors`` or the
    ``.json`` file); reads no weights and imports no torch."""
    weights, sidecar = checkpoint_paths(path)
    if not sidecar.exists():
        raise CheckpointError(f"{sidecar}: no checkpoint sidecar next to {weights.name} (a checkpoint "
                              f"is {weights.name} with {sidecar.name} beside it, and the sidecar is "
                              f"written last, so an interrupted save has none); {_FIX}")
    if not sidecar.is_file():
        raise CheckpointError(f"{sidecar}: not a regular file; {_FIX}")
    try:
        with open(sidecar, "rb") as f:
            raw = f.read(MAX_SIDECAR_BYTES + 1)
    except OSError as exc:
        raise CheckpointError(f"{sidecar}: cannot be read ({exc}); check its permissions") from exc
    if len(raw) > MAX_SIDECAR_BYTES:
        raise CheckpointError(f"{sidecar}: larger than {MAX_SIDECAR_BYTES} bytes, so not an avbench "
                              f"checkpoint sidecar (those are a few kB); {_FIX}")
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant,
                         object_pairs_hook=_refuse_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CheckpointError(f"{sidecar}: not valid checkpoint JSON ({exc}); {_FIX}") from exc
    if not isinstance(doc, dict):
        raise CheckpointError(f"{sidecar}: holds a JSON {type(doc).__name__}, not a JSON object; "
                              f"not an avbench checkpoint sidecar; {_FIX}")
    if doc.get("format") != FORMAT:
        raise CheckpointError(f"{sidecar}: format is {doc.get('format')!r}, not {FORMAT!r}; "
                              f"not an avbench checkpoint sidecar; {_FIX}")
    version = doc.get("format_version")
    if type(version) is not int:
        raise CheckpointError(f"{sidecar}: format_version is {version!r}, not an integer; {_FIX}")
    if version != FORMAT_VERSION:
        newer = ("written by a newer avbench; upgrade avbench to read it" if version > FORMAT_VERSION
                 else "not a version any avbench wrote; " + _FIX)
        raise CheckpointError(f"{sidecar}: format_version {version}, but this avbench reads version "
                              f"{FORMAT_VERSION}: {newer}")
    if not isinstance(doc.get("method"), str) or not doc["method"]:
        raise CheckpointError(f"{sidecar}: method is {doc.get('method')!r}, not a method name; {_FIX}")
    if not isinstance(doc.get("config"), dict):
        raise CheckpointError(f"{sidecar}: config is {doc.get('config')!r}, not a JSON object of "
                              f"config options; {_FIX}")
    sha = doc.get("weights_sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise CheckpointError(f"{sidecar}: weights_sha256 is {sha!r}, not 64 lower-case hex digits; "
                              f"{_FIX}")
    return doc


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:  # json would keep the last silently; two values for one key is tampering
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


# ----------------------------------------------------------------------------- loading


def load_checkpoint(path: str | Path, registry=None, device: str = "cpu") -> LoadedModel:
    """Rebuild the method saved at ``path`` (the ``.safetensors`` or the ``.json`` file).

    ``registry`` is an :class:`avbench.registry.Registry` (default: ``load_registry()``, the
    installed plugins).  The weights' SHA-256 must match the sidecar's; the method is built
    from the stored config through the same path as a run, and the tensors must match its
    state dict exactly (names and shapes).  The module is returned in eval mode on ``device``.
    """
    meta = read_checkpoint_meta(path)
    weights, sidecar = checkpoint_paths(path)
    data = _read_weights(weights, meta["weights_sha256"], sidecar)
    if registry is None:
        from avbench.registry import load_registry

        registry = load_registry()
    method = _build(registry, meta, sidecar)
    _load_tensors(method, data, weights, meta["method"])
    method.to(device).eval()
    return LoadedModel(method=method, meta=meta, path=weights)


def load_weights(method, path: str | Path, method_name: str) -> dict[str, Any]:
    """Load the weights saved at ``path`` into ``method``, a model already built from its
    config (a run rebuilding a stored model from its own plan); returns the sidecar's data.

    The same checks as :func:`load_checkpoint`: the sidecar must name ``method_name``, the
    weights' SHA-256 must match, the tensors must match the state dict exactly."""
    meta = read_checkpoint_meta(path)
    weights, sidecar = checkpoint_paths(path)
    if meta["method"] != method_name:
        raise CheckpointError(f"{sidecar}: holds a model of method {meta['method']!r}, not {method_name!r}; {_FIX}")
    _load_tensors(method, _read_weights(weights, meta["weights_sha256"], sidecar), weights, method_name)
    return meta


def _load_tensors(method, data: bytes, weights: Path, name: str) -> None:
    tensors = _parse_weights(data, weights)
    _check_tensors(method, tensors, weights, name)
    method.load_state_dict(tensors, strict=True)


def _read_weights(weights: Path, expected_sha: str, sidecar: Path) -> bytes:
    """The weights' bytes, read once: the bytes hashed are the bytes parsed."""
    if not weights.is_file():
        what = "is missing" if not weights.exists() else "is not a regular file"
        raise CheckpointError(f"{weights}: the weights file that {sidecar.name} describes {what}; {_FIX}")
    try:
        data = weights.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{weights}: cannot be read ({exc}); check its permissions") from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected_sha:
        raise CheckpointError(f"{weights}: SHA-256 {actual} does not match {expected_sha} recorded in "
                              f"{sidecar.name}: the weights were damaged or replaced after saving; {_FIX}")
    return data


def _build(registry, meta: dict[str, Any], sidecar: Path):
    """The method named in the sidecar, built from its stored config as a run builds it."""
    from avbench.registry import UnknownNameError
    from avbench.runner import build_method

    name = meta["method"]
    try:
        spec = registry.methods.get(name)
    except UnknownNameError as exc:
        raise CheckpointError(f"{sidecar}: method {name!r} is not registered here; install the plugin "
                              f"that provides it (avbench list methods).\n{exc}") from exc
    try:
        config_cls = spec.load().Config
    except Exception as exc:  # noqa: BLE001 - a plugin's import error, reported with its name
        raise CheckpointError(f"{sidecar}: method {name!r} (plugin {spec.plugin!r}) cannot be imported "
                              f"({type(exc).__name__}: {exc}); fix or reinstall that plugin") from exc
    config = _config_values(meta["config"], config_cls, name, sidecar)
    try:
        return build_method(spec, config)
    except Exception as exc:  # noqa: BLE001 - the stored config, the spec or the plugin's code
        raise CheckpointError(f"{sidecar}: method {name!r} (plugin {spec.plugin!r}) cannot be built from "
                              f"the stored config ({type(exc).__name__}: {exc}); the checkpoint was "
                              "written for another version of that plugin or was edited: install the "
                              f"version that wrote it, or {_FIX}") from exc


def _config_values(stored: dict[str, Any], config_cls, name: str, sidecar: Path) -> dict[str, Any]:
    """The stored config as ``Config`` values: unknown keys refused, each value of the type its
    default has (JSON lists back to tuples)."""
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(stored) - set(fields))
    if unknown:
        raise CheckpointError(f"{sidecar}: config option(s) {', '.join(unknown)} are not options of "
                              f"method {name!r} as installed (its options: {', '.join(sorted(fields))}); "
                              f"install the plugin version that wrote the checkpoint, or {_FIX}")
    values = {}
    for key, value in stored.items():
        f = fields[key]
        default = (f.default if f.default is not dataclasses.MISSING
                   else f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        if isinstance(default, tuple) and isinstance(value, list):
            value = _tuples(value)
        if default is not None and not _same_kind(value, default):
            raise CheckpointError(f"{sidecar}: config option {key}={value!r} is a {type(value).__name__}, "
                                  f"but method {name!r} expects {type(default).__name__} values like "
                                  f"{default!r}; {_FIX}")
        values[key] = value
    return values


def _tuples(value):
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _same_kind(value, default) -> bool:
    """Whether a JSON value can stand for a Config default's type (bool is not an int here,
    an int may stand for a float, a tuple's items follow its first default item)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, tuple):
        return isinstance(value, tuple) and (not default or all(_same_kind(v, default[0]) for v in value))
    if isinstance(default, (int, str)):
        return type(value) is type(default)
    return True  # other default types (None, enums, ...) are left to the Config and the method


def _parse_weights(data: bytes, weights: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        return load(data)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as exc:
        raise CheckpointError(f"{weights}: not a readable safetensors file ({exc}); pickle-based "
                              f"files are never loaded; {_FIX}") from exc


def _check_tensors(method, tensors: dict, weights: Path, name: str, shown: int = 5) -> None:
    """The file's tensors against the built method's state dict: the same names, the same
    shapes, finite values; otherwise an error naming the first few differences."""
    import torch

    expected = method.state_dict()
    problems = []
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing:
        problems.append(f"missing {len(missing)} key(s): {', '.join(missing[:shown])}"
                        + (", ..." if len(missing) > shown else ""))
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:shown])}"
                        + (", ..." if len(unexpected) > shown else ""))
    shapes = [f"{k} {tuple(tensors[k].shape)} (method: {tuple(expected[k].shape)})"
              for k in sorted(set(tensors) & set(expected)) if tensors[k].shape != expected[k].shape]
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es): {'; '.join(shapes[:shown])}"
                        + ("; ..." if len(shapes) > shown else ""))
    if problems:
        raise CheckpointError(f"{weights}: the weights do not fit method {name!r} built from the stored "
                              f"config: {'; '.join(problems)}; the checkpoint was written for another "
                              f"version of the method, or {_FIX}")
    bad = sorted(k for k, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all()))
    if bad:
        raise CheckpointError(f"{weights}: tensor(s) {', '.join(bad[:shown])} hold NaN or Infinity; the "
                              f"model is unusable; {_FIX}")


__all__ = ["FORMAT", "FORMAT_VERSION", "CheckpointError", "LoadedModel", "checkpoint_paths",
           "store_in_half_precision",
           "load_checkpoint", "load_weights", "read_checkpoint_meta", "save_checkpoint"]
