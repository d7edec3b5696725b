"""Which of the trainer's special settings a model can use.

The same tests as :func:`arstudio.training.trainer.check_augment`, asked the
other way round, so a front end (the studio's Train tab) offers exactly the
settings the trainer will accept, without naming any model:

- ``crop``: random training windows, for sequence data only;
- ``label_dropout``: for models with a "no label" id (``model.no_label``);
- ``closed_form``: for models with a closed-form ``fit(data)`` (``supports_fit``: one solve, no steps).
"""
from __future__ import annotations

LONG_SEQUENCE = 512  # longer sequences train on windows by default
DEFAULT_WINDOW = 256
DEFAULT_LABEL_DROPOUT = 0.1


def has_closed_form(model_or_class) -> bool:
    """A class attribute, so the class alone answers (no model needs building)."""
    return bool(model_or_class.supports_fit)


def training_options(model) -> dict[str, bool]:
    """{setting: usable} for a built model; ``no_label`` may depend on its config."""
    return {"crop": model.spec.modality == "sequence",
            "label_dropout": model.no_label is not None,
            "closed_form": has_closed_form(model)}


def default_window(spec) -> int:
    """Training window for a sequence spec: whole sequences (0) unless they are long,
    where short windows give many cheap steps instead of a few slow ones."""
    if spec is None or spec.modality != "sequence":
        return 0
    return DEFAULT_WINDOW if spec.shape[-1] > LONG_SEQUENCE else 0
