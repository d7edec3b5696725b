"""One name per idea across the models' settings; older names still read everywhere.

The shared names: ``layers`` (stacked layers or blocks), ``channels`` (width of a
convolutional stream), ``num_labels`` (classes of the label a model is conditioned on),
``mixtures`` (components of a mixture output), ``d_model`` (a Transformer's token width).
A model that used another name declares it in ``ARModel.config_renames``: checkpoints,
run configs, recipes and ``build_model`` keyword arguments with the old name still work.
"""
import json

import pytest
import torch
from contract_specs import random_data, specs_for
from safetensors.torch import load_file, save_file

from arstudio.checkpoint import HASH_KEY, content_hash, load_checkpoint, save_checkpoint
from arstudio.models.registry import build_model, list_models
from arstudio.recipes import read_recipe

#: names no model's settings may use any more -> the shared name for the same idea
RETIRED = {"blocks": "layers", "num_classes": "num_labels", "components": "mixtures", "width": "d_model"}
RENAMED = [info for info in list_models() if info.cls.config_renames]


def fields(info) -> set[str]:
    import dataclasses

    return {f.name for f in dataclasses.fields(info.config)}


def test_no_model_uses_a_retired_name():
    used = {info.name: sorted(fields(info) & set(RETIRED)) for info in list_models()}
    assert {k: v for k, v in used.items() if v} == {}
    # the renamed models are exactly the ones that used them, and map them to the shared name
    assert {i.name for i in RENAMED} == {"pixelcnn", "pixelsnail", "gated-pixelcnn", "rnade", "vqvae",
                                         "text-transformer"}
    for info in RENAMED:
        for old, new in info.cls.config_renames.items():
            assert new in fields(info) and old not in fields(info), (info.name, old, new)
            assert RETIRED.get(old, new) == new, (info.name, old, new)


def write_with_old_names(model, path, tmp_path):
    """``model`` saved as a checkpoint written before the renames: its config under the
    old names (the content hash re-stamped, as the old code would have written it)."""
    new = save_checkpoint(model, tmp_path / "new.safetensors")
    with open(new, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    meta = json.loads(header["__metadata__"]["arstudio"])
    back = {new_name: old for old, new_name in type(model).config_renames.items()}
    meta["config"] = {back.get(k, k): v for k, v in meta["config"].items()}
    tensors = load_file(str(new))
    meta[HASH_KEY] = content_hash({k: v for k, v in meta.items() if k != HASH_KEY}, tensors)
    save_file(tensors, str(path), metadata={"arstudio": json.dumps(meta)})
    return meta["config"]


@pytest.mark.parametrize("info", RENAMED, ids=[i.name for i in RENAMED])
def test_a_checkpoint_with_the_old_names_loads_and_computes_the_same(info, tmp_path):
    spec = next(s for s in specs_for(info) if all(d % 2 == 0 for d in s.shape[1:]))  # VQ-VAE: even sides
    torch.manual_seed(0)
    model = build_model(info.name, spec, **info.presets.get("tiny", {})).eval()
    old = tmp_path / "old.safetensors"
    stored = write_with_old_names(model, old, tmp_path)
    assert set(info.cls.config_renames) <= set(stored)  # the file really holds the old names
    loaded = load_checkpoint(old)
    assert loaded.config == model.config
    x = random_data(spec, 3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(loaded.log_prob(x), model.log_prob(x), atol=0, rtol=0)


def test_old_names_as_build_arguments_and_in_recipes(tmp_path):
    spec = specs_for(next(i for i in RENAMED if i.name == "pixelcnn"))[0]
    assert build_model("pixelcnn", spec, channels=8, blocks=2).config.layers == 2
    assert build_model("gated-pixelcnn", spec, channels=8, layers=1, num_classes=3).config.num_labels == 3
    recipe = tmp_path / "old.toml"
    recipe.write_text('[model]\nname = "pixelsnail"\nchannels = 8\nblocks = 1\n\n[data]\nname = "digits-binary"\n')
    assert read_recipe(recipe).model_config == {"channels": 8, "layers": 1}
