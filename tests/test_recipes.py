"""TOML recipes: arstudio train --config, every key checked, Save/Load round trip."""
import pytest

from arstudio.cli import main
from arstudio.config_check import SettingsError
from arstudio.recipes import Recipe, read_recipe, write_recipe
from arstudio.runs import RunFolder

RECIPE = """
out = "{out}"

[model]
name = "pixelcnn"
channels = 8
layers = 1
head_channels = 8

[data]
name = "digits-binary"

[train]
steps = 6
batch_size = 16
eval_every = 6
sample_every = 0
device = "cpu"
lr = 2e-3
"""


def test_train_from_a_recipe(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE.format(out=tmp_path / "run"))
    assert main(["train", "--config", str(path), "--quiet", "--steps", "4"]) == 0  # flags override it
    run = RunFolder.open(tmp_path / "run")
    cfg = run.config()
    assert cfg["model"] == "pixelcnn" and cfg["model_config"]["channels"] == 8
    assert cfg["train"]["steps"] == 4 and cfg["train"]["lr"] == 2e-3 and cfg["train"]["batch_size"] == 16
    assert run.status()["state"] == "done"


@pytest.mark.parametrize("edit,message", [
    (("[train]", "[train]\nstpes = 3"), r"unknown trainer setting 'stpes' \(did you mean 'steps'\?\); valid: batch_size"),
    (("steps = 6", "steps = \"many\""), "trainer setting 'steps' must be an integer"),
    (("channels = 8", "channels = 8.5"), "pixelcnn setting 'channels' must be an integer"),
    (("layers = 1", "lyaers = 1"), r"unknown pixelcnn setting 'lyaers' \(did you mean 'layers'\?\)"),
    (("out = ", "output = "), r"unknown recipe key 'output'.*valid: data, model, out, train"),
    (("name = \"digits-binary\"", "name = \"digits-binary\"\nsize = \"8x8\""), "takes no options"),
    (("name = \"pixelcnn\"", "name = \"pixelcnm\""), "unknown model"),
])
def test_every_key_is_checked(tmp_path, edit, message):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE.format(out=tmp_path / "run").replace(*edit, 1))
    with pytest.raises(SettingsError, match=message):
        read_recipe(path)


def test_cli_reports_a_bad_recipe_in_one_line(tmp_path, capsys):
    path = tmp_path / "r.toml"
    path.write_text(RECIPE.format(out=tmp_path / "run").replace("[train]", "[train]\nwarm_up = 3"))
    assert main(["train", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown trainer setting 'warm_up'" in err and "warmup" in err
    path.write_text("[model\nname=")
    assert main(["train", "--config", str(path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_image_folder_options_are_checked_and_round_trip(tmp_path):
    r = Recipe("gated-pixelcnn", f"images:{tmp_path}?levels=2&size=8x8", {"channels": 8, "layers": 2},
               {"steps": 5, "lr": 1e-3, "max_minutes": None}, out=str(tmp_path / "o"))
    write_recipe(r, tmp_path / "saved.toml")
    text = (tmp_path / "saved.toml").read_text()
    assert "[data]" in text and 'size = "8x8"' in text and "levels = 2" in text
    back = read_recipe(tmp_path / "saved.toml")
    assert back.model == r.model and back.model_config == r.model_config
    assert back.train == {"steps": 5, "lr": 1e-3} and back.out == r.out
    assert back.data == f"images:{tmp_path}?levels=2&size=8x8"
    (tmp_path / "bad.toml").write_text(text.replace("levels = 2", "levls = 2"))
    with pytest.raises(SettingsError, match=r"unknown images option 'levls'.*valid: binarize, colour"):
        read_recipe(tmp_path / "bad.toml")
