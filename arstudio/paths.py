"""Where the project's shipped files live (a source checkout or editable install)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESOURCES = ROOT / "resources"
DATA_DIR = RESOURCES / "data"
BUNDLED_MODELS = ROOT / "models"
