"""The Train tab's data- and model-dependent settings: window, label dropout, least squares.

Which rows show is decided by the registry, never by model names:

- "Window" (the trainer's ``crop``) when the chosen dataset's spec is a sequence;
- "Label dropout" when the model built for the parameter count has a "no label" id
  (``model.no_label``; for WaveNet that depends on its ``num_labels`` setting);
- "Least-squares fit" (``closed_form``) when the model class has a ``fit`` method.

A "Recipe" row appears when arstudio/presets.py has a recipe for this model and
dataset (the exact recipe a bundled model was trained with); choosing it fills the
picker's hyper-parameters and every setting here.

Defaults are applied when the choice changes (a new dataset: a window for long
sequences; a new model: 0.1 label dropout, least squares on), so values restored
afterwards from a session or a run are kept.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QSpinBox

from arstudio.training.options import DEFAULT_LABEL_DROPOUT, default_window, has_closed_form

KEYS = ("crop", "label_dropout", "closed_form")  # TrainConfig fields, as the CLI's --train-set names them
NO_RECIPE = "choose…"


def tab_settings(train: dict) -> dict:
    """A TrainConfig dict (a run's config.json or a recipe) -> the Train tab's settings.
    The tab has one "snapshot every" for validation, samples and checkpoints."""
    kept = ("steps", "batch_size", "lr", "device") + KEYS
    return {**{k: train[k] for k in kept if train.get(k) is not None},
            "snapshot_every": train.get("sample_every") or train.get("eval_every") or 100}


def recipes_for(model: str | None, data: str | None) -> dict:
    from arstudio.presets import PRESETS

    return {name: p for name, p in PRESETS.items() if p.model == model and p.dataset == data}


class TrainOptions(QObject):
    recipe_applied = Signal(dict)  # tab settings of the recipe just chosen; the panel takes them

    def __init__(self, picker, gradient_widgets, parent=None):
        super().__init__(parent)
        self.picker = picker
        self.gradient_widgets = list(gradient_widgets)  # steps, batch, lr: unused by a closed-form fit
        self._model: str | None = None
        self._data: str | None = None
        self._applying_recipe = False

        self.window = QSpinBox(minimum=0, maximum=1_000_000, singleStep=64)
        self.window.setObjectName("train_window")
        self.window.setSpecialValueText("whole sequence")  # shown for 0
        self.window.setSuffix(" steps")
        self.window.setToolTip(
            "Train on random windows of this many time steps (0 = whole sequences).\n"
            "Convolutional and recurrent sequence models do not depend on the length, so short\n"
            "windows give many more, much cheaper steps. Validation and test still score\n"
            "whole sequences.")
        self.label_dropout = QDoubleSpinBox(minimum=0.0, maximum=1.0, decimals=2, singleStep=0.05,
                                            value=DEFAULT_LABEL_DROPOUT)
        self.label_dropout.setObjectName("train_label_dropout")
        self.label_dropout.setToolTip(
            "Fraction of training examples whose label is replaced by \"no label\".\n"
            "The same model then also generates without a label (and can mix both).")
        self.closed_form = QCheckBox("one solve, no gradient steps")
        self.closed_form.setObjectName("train_closed_form")
        self.closed_form.setChecked(True)
        self.closed_form.setToolTip(
            "This model has an exact closed-form optimum: fit it by least squares on the whole\n"
            "training split in one solve. Steps, batch size and learning rate are then unused.")
        self.closed_form.toggled.connect(lambda _on: self._enable())
        self.recipe = QComboBox()
        self.recipe.setObjectName("train_recipe")
        self.recipe.setToolTip("The exact recipe a bundled model was trained with (arstudio/presets.py,\n"
                               "as `arstudio train --preset NAME`): fills the hyper-parameters and the\n"
                               "training settings.")
        self.recipe.activated.connect(lambda _i: self.apply_recipe(self.recipe.currentText()))

        picker.changed.connect(self._choice_changed)
        picker.options_found.connect(lambda _opts: self._show_rows())

    def add_rows(self, form: QFormLayout) -> None:
        self.form = form
        form.addRow("Recipe", self.recipe)
        form.addRow("Window", self.window)
        form.addRow("Label dropout", self.label_dropout)
        form.addRow("Least-squares fit", self.closed_form)
        self._show_rows()

    # --- what applies ---------------------------------------------------------------
    def applies(self) -> dict[str, bool]:
        """Which settings the current model and data take: the rows shown, and what
        Start passes. Label dropout needs a built model: the picker's parameter count
        builds one in a pool thread, and until it answers the row stays hidden."""
        known = self.picker.training_options or {}
        return {**self._static_applies(), "label_dropout": bool(known.get("label_dropout"))}

    def _static_applies(self) -> dict[str, bool]:
        name, spec = self.picker.model_name(), self.picker.dataset_spec()
        return {"crop": spec is not None and spec.modality == "sequence",
                "closed_form": name is not None and has_closed_form(self.picker.models[name].cls)}

    # --- reacting -----------------------------------------------------------------------
    def _choice_changed(self) -> None:
        name, data = self.picker.model_name(), self.picker.dataset_name()
        if name != self._model:
            self.label_dropout.setValue(DEFAULT_LABEL_DROPOUT)
            self.closed_form.setChecked(True)
        if data != self._data:
            spec = self.picker.dataset_spec()
            if spec is not None and spec.modality == "sequence":
                self.window.setMaximum(spec.shape[-1])
            self.window.setValue(default_window(spec))
        if (name, data) != (self._model, self._data):
            self.recipe.clear()
            self.recipe.addItems([NO_RECIPE] + list(recipes_for(name, data)))
        elif not self._applying_recipe:
            self.recipe.setCurrentIndex(0)  # a setting changed by hand: no longer that recipe
        self._model, self._data = name, data
        self._show_rows()

    def apply_recipe(self, name: str) -> None:
        recipe = recipes_for(self._model, self._data).get(name)
        if recipe is None:
            return
        # a recipe's model settings are relative to the Config defaults, as on the command line
        self._applying_recipe = True
        try:
            self.picker.select(recipe.model, recipe.dataset, dict(recipe.model_config), preset="defaults")
        finally:
            self._applying_recipe = False
        self.recipe_applied.emit(tab_settings(recipe.train))
        self.recipe.setCurrentText(name)

    def _show_rows(self) -> None:
        if not hasattr(self, "form"):
            return
        shown = self.applies()
        self.form.setRowVisible(self.recipe, self.recipe.count() > 1)
        self.form.setRowVisible(self.window, shown["crop"])
        self.form.setRowVisible(self.label_dropout, shown["label_dropout"])
        self.form.setRowVisible(self.closed_form, shown["closed_form"])
        self._enable()

    def _enable(self) -> None:
        fitting = self._static_applies()["closed_form"] and self.closed_form.isChecked()
        for w in self.gradient_widgets + [self.window, self.label_dropout]:
            w.setEnabled(not fitting)

    # --- settings -----------------------------------------------------------------------
    def settings(self) -> dict:
        """The settings that apply to the current choice, as TrainConfig values."""
        applies = self.applies()
        values = {"crop": self.window.value(), "label_dropout": round(self.label_dropout.value(), 4),
                  "closed_form": self.closed_form.isChecked()}
        return {k: v for k, v in values.items() if applies[k]}

    def set_settings(self, s: dict) -> None:
        """Restore values (a session or a run's recipe); rows that do not apply keep them too."""
        if s.get("crop") is not None:
            self.window.setValue(int(s["crop"]))
        if s.get("label_dropout") is not None:
            self.label_dropout.setValue(float(s["label_dropout"]))
        if s.get("closed_form") is not None:
            self.closed_form.setChecked(bool(s["closed_form"]))
