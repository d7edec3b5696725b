"""Model and data picker, driven entirely by the registries.

Models are grouped by family; the explanation, paper and factorisation come
from each :class:`ModelInfo`; only datasets the model ``supports`` are
offered; the hyper-parameter form is generated from the model's ``Config``
dataclass (the comment beside each default becomes the tooltip) and the
presets from ``info.presets``. No model has code of its own here.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from arstudio.gui.dataclass_form import DataclassForm
from arstudio.gui.workers import run_job

DEFAULTS = "defaults"
CUSTOM = "custom"  # settings that match no preset; choosing it changes nothing


def count_parameters(model_name: str, spec, overrides: dict) -> int:
    """Runs in a pool thread: build the model for the data and count its weights."""
    return inspect_model(model_name, spec, overrides)["parameters"]


def inspect_model(model_name: str, spec, overrides: dict) -> dict:
    """Runs in a pool thread: build the model once and return plain facts about it
    (its weight count and which special training settings it takes)."""
    from arstudio.models.registry import build_model
    from arstudio.training.options import training_options

    model = build_model(model_name, spec, **overrides)
    return {"parameters": model.num_parameters(), "options": training_options(model)}


def parse_text(text: str):
    """A free-text setting: number, bool, None or the string itself (as the CLI reads --set)."""
    from arstudio.values import parse_value

    return parse_value(text)


class ConfigForm(DataclassForm):
    """One editor per field of a frozen Config dataclass, chosen by the default's type."""

    object_prefix = "setting_"

    def label_text(self, name: str) -> str:
        return name.replace("_", " ")

    def set_config(self, config_cls) -> None:
        self.set_fields(config_cls)
        self.set_values(self.defaults)

    def _editor_for(self, name: str, default) -> QWidget:
        if isinstance(default, bool):
            w = QCheckBox()
            w.toggled.connect(self.changed)
        elif isinstance(default, int):
            w = QSpinBox(minimum=-1_000_000, maximum=1_000_000)
            w.valueChanged.connect(self.changed)
        elif isinstance(default, float):
            w = QDoubleSpinBox(minimum=-1e6, maximum=1e6, decimals=6, singleStep=0.01)
            w.valueChanged.connect(self.changed)
        else:  # strings, None and anything else: free text, read as the CLI would
            w = QLineEdit()
            w.editingFinished.connect(self.changed)
        return w

    def text_of(self, value) -> str:
        return "none" if value is None else str(value)

    def read_text(self, name: str, text: str):
        if isinstance(self.defaults.get(name), str):  # a word setting stays a word: "none" is not None
            return text.strip()
        return parse_text(text)  # numbers, bools, none: as the CLI reads --set

    def values(self) -> dict:
        return {name: self.value(name) for name in self.editors}

    def overrides(self) -> dict:
        """Only the settings that differ from the Config defaults."""
        return self.differing()


class PickerPanel(QWidget):
    """Choose a model, a compatible dataset, a preset and the settings."""

    changed = Signal()  # model, data or a setting changed
    parameters_counted = Signal(object)  # int, or None when the model cannot be built
    # {"crop"|"label_dropout"|"closed_form": bool} for the current choice, from the same
    # built model as the count; {} when it cannot be built
    options_found = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        from arstudio.data import list_datasets
        from arstudio.gui.user_datasets import dataset_info, label, remembered
        from arstudio.models.registry import list_models

        self.models = {info.name: info for info in list_models()}
        self.datasets = list_datasets()
        self.user_labels: dict[str, str] = {}  # the user's added datasets (Data → Add dataset…)
        for entry in remembered():
            try:
                self.datasets.append(dataset_info(entry))
            except (KeyError, TypeError, ValueError):  # an entry written by a newer version: left out
                continue
            self.user_labels[entry["name"]] = label(entry)
        self.parameter_count: int | None = None
        self.training_options: dict | None = None  # None while the count is under way
        self._count_request = 0

        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setMinimumHeight(140)
        families: dict[str, QTreeWidgetItem] = {}
        for info in self.models.values():
            parent_item = families.get(info.family)
            if parent_item is None:
                parent_item = families[info.family] = QTreeWidgetItem(self.tree, [info.family])
                parent_item.setFlags(parent_item.flags() & ~parent_item.flags().ItemIsSelectable)
            item = QTreeWidgetItem(parent_item, [info.name])
            item.setToolTip(0, info.paper)
        self.tree.expandAll()
        self.tree.currentItemChanged.connect(lambda *_: self._model_chosen())

        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(self.about.textFormat().RichText)
        self.data = QComboBox()
        self.data.currentIndexChanged.connect(lambda _i: self._settings_changed())
        self.params = QLabel("–")
        self.preset = QComboBox()
        self.preset.activated.connect(lambda _i: self._apply_preset(self.preset.currentText()))
        self.form = ConfigForm()
        self.form.changed.connect(self._settings_changed)

        choice = QFormLayout()
        choice.addRow("Data", self.data)
        choice.addRow("Parameters", self.params)
        choice.addRow("Preset", self.preset)
        settings = QGroupBox("Hyper-parameters")
        settings_layout = QVBoxLayout(settings)
        settings_layout.addWidget(self.form)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Model</b>"))
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.about)
        layout.addLayout(choice)
        layout.addWidget(settings)

    # --- selection -------------------------------------------------------------------
    def model_name(self) -> str | None:
        item = self.tree.currentItem()
        if item is None or item.parent() is None:
            return None
        return item.text(0)

    def dataset_name(self) -> str | None:
        return self.data.currentData()

    def dataset_spec(self):
        name = self.dataset_name()
        return next((d.spec for d in self.datasets if d.name == name), None)

    def selection(self) -> dict:
        return {"model": self.model_name(), "data": self.dataset_name(),
                "preset": self.preset.currentText(), "settings": self.form.overrides()}

    def select(self, model: str, data: str | None = None, settings: dict | None = None,
               preset: str | None = None) -> None:
        """Set the picker from a session file or a run's config; unknown names raise KeyError."""
        if model not in self.models:
            raise KeyError(f"model {model!r} is not registered here")
        for item in self._model_items():
            if item.text(0) == model:
                self.tree.setCurrentItem(item)
        if data is not None:
            index = self.data.findData(data)
            if index < 0:
                raise KeyError(f"{model} cannot train on dataset {data!r} (or it is not registered)")
            self.data.setCurrentIndex(index)
        if preset and self.preset.findText(preset) >= 0:
            self.preset.setCurrentText(preset)
            self._apply_preset(preset)
        self.form.set_values({k: v for k, v in (settings or {}).items() if k in self.form.editors})
        if settings is not None:
            self._show_matching_preset()
        self._settings_changed()

    def _show_matching_preset(self) -> None:
        """Name the preset these settings are (a run's config), or say they are custom."""
        values = self.form.values()
        info = self.models[self.model_name()]
        matches = [p for p, o in info.presets.items()
                   if all(values.get(k) == v for k, v in {**self.form.defaults, **o}.items())]
        name = matches[0] if matches else (DEFAULTS if not self.form.overrides() else CUSTOM)
        if self.preset.findText(name) < 0:
            self.preset.addItem(name)
        self.preset.setCurrentText(name)

    def select_first(self, preferred: str = "pixelcnn") -> None:
        items = self._model_items()
        chosen = next((i for i in items if i.text(0) == preferred), items[0] if items else None)
        if chosen is not None:
            self.tree.setCurrentItem(chosen)

    def _model_items(self) -> list[QTreeWidgetItem]:
        out = []
        for i in range(self.tree.topLevelItemCount()):
            family = self.tree.topLevelItem(i)
            out.extend(family.child(j) for j in range(family.childCount()))
        return out

    # --- reacting ----------------------------------------------------------------------
    def _model_chosen(self) -> None:
        name = self.model_name()
        if name is None:
            return
        info = self.models[name]
        self.about.setText(
            f"<b>{html.escape(info.name)}</b> — {html.escape(info.family)}<br>{html.escape(info.summary)}"
            f"<br><i>{html.escape(info.paper)}</i><br><tt>{html.escape(info.factorisation)}</tt>")
        self._fill_data(info)
        self.preset.clear()
        self.preset.addItems([DEFAULTS] + list(info.presets))
        if "quick demo" in info.presets:  # a demo should start quickly unless asked otherwise
            self.preset.setCurrentText("quick demo")
        self.form.set_config(info.config)
        self._apply_preset(self.preset.currentText())

    def _fill_data(self, info) -> None:
        """The datasets this model supports, built-in and added; the choice is kept where it can be."""
        from PySide6.QtCore import Qt

        previous = self.dataset_name()
        self.data.blockSignals(True)
        self.data.clear()
        for d in self.datasets:
            if info.supports(d.spec):
                self.data.addItem(self.user_labels.get(d.name) or f"{d.name}  ({d.spec.describe()})", d.name)
                self.data.setItemData(self.data.count() - 1, f"{d.name}\n{d.license}\n{d.description}".strip(),
                                      Qt.ItemDataRole.ToolTipRole)
        keep = self.data.findData(previous)
        self.data.setCurrentIndex(max(keep, 0))
        self.data.blockSignals(False)

    def add_dataset(self, entry: dict) -> bool:
        """List a dataset the user added (an entry of :mod:`arstudio.gui.user_datasets`); True
        when the current model can train on it (it is then listed for it)."""
        from arstudio.gui.user_datasets import dataset_info, label

        info = dataset_info(entry)
        self.datasets = [d for d in self.datasets if d.name != info.name] + [info]
        self.user_labels[info.name] = label(entry)
        name = self.model_name()
        if name is None:
            return False
        self._fill_data(self.models[name])
        return self.models[name].supports(info.spec)

    def _apply_preset(self, preset: str) -> None:
        name = self.model_name()
        if name is None:
            return
        if preset == CUSTOM:
            return
        overrides = self.models[name].presets.get(preset, {}) if preset != DEFAULTS else {}
        self.form.set_values({k: overrides.get(k, default) for k, default in self.form.defaults.items()})
        self._settings_changed()

    def _settings_changed(self) -> None:
        self._count()
        self.changed.emit()

    def _count(self) -> None:
        name, spec = self.model_name(), self.dataset_spec()
        if name is None or spec is None:
            self.params.setText("no compatible dataset" if name else "–")
            self.training_options = {}
            self.options_found.emit({})
            return
        self._count_request += 1
        request = self._count_request
        self.params.setText("counting…")
        self.training_options = None

        def done(facts):
            if facts is not None and request == self._count_request:  # an older count finishing late is ignored
                n = facts["parameters"]
                self.parameter_count = n
                self.training_options = facts["options"]
                self.params.setText(f"{n:,} for {spec.describe()}")
                self.parameters_counted.emit(n)
                self.options_found.emit(self.training_options)

        def failed(text):
            if request == self._count_request:
                self.parameter_count = None
                self.training_options = {}
                self.params.setText(f"cannot build: {text}")
                self.parameters_counted.emit(None)
                self.options_found.emit({})

        overrides = self.form.overrides()

        def count_if_still_wanted():
            # clicking through models queues many counts; one superseded while it
            # waited is skipped instead of building a model nobody will see
            if request != self._count_request:
                return None
            return inspect_model(name, spec, overrides)

        run_job(count_if_still_wanted, on_done=done, on_error=failed, owner=self)
