"""Optional TensorBoard event files beside a run (``TrainConfig.tensorboard``, ``--tensorboard``).

With the ``tensorboard`` extra installed (``pip install -e .[tensorboard]``), a run
with the setting on also writes ``RUN/tensorboard/events.out.tfevents.*`` through
``torch.utils.tensorboard``: training bits/dim, nats and learning rate per logged
step; validation and test bits/dim (and their EMA twins); each sample grid as an
image; for sound data, the first sample of each grid as audio. Open it with
``tensorboard --logdir RUN``. The run folder stays the contract: the studio never
reads these files, and a run without the extra is the same run.
"""
from __future__ import annotations

from pathlib import Path

SUBFOLDER = "tensorboard"
INSTALL = "pip install -e .[tensorboard]"


class TensorBoardMissing(ValueError):
    """The setting is on but the extra is not installed; the message says how to install it."""


def require_tensorboard() -> None:
    """Raise :class:`TensorBoardMissing` (before any run folder is made) when the extra is absent."""
    try:
        import tensorboard  # noqa: F401
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as e:
        raise TensorBoardMissing(f"tensorboard=true needs the tensorboard extra ({INSTALL}): {e}") from None


class TensorBoardLog:
    """Called with each training event and its JSON record; writes the matching summaries."""

    def __init__(self, run_path, dataset):
        require_tensorboard()
        from torch.utils.tensorboard import SummaryWriter

        self.spec = dataset.spec
        self.sample_rate = dataset.extras.get("sample_rate")
        self.mu_law = dataset.extras.get("encoding") == "mu-law"
        self.path = Path(run_path) / SUBFOLDER
        self.writer = SummaryWriter(log_dir=str(self.path))

    def __call__(self, event, record: dict) -> None:
        kind, step = record.get("event"), record.get("step")
        w = self.writer
        if kind == "step":
            w.add_scalar("train/bits_per_dim", record["bpd"], step)
            w.add_scalar("train/nats", record["loss"], step)
            w.add_scalar("train/lr", record["lr"], step)
        elif kind == "eval":
            w.add_scalar(f"{record['split']}/bits_per_dim", record["bpd"], step)
            w.add_scalar(f"{record['split']}/nats", record["nats"], step)
        elif kind == "samples":
            self._samples(event.samples, step)
        elif kind == "done":
            if record.get("test_bpd") is not None:
                w.add_scalar("test/bits_per_dim", record["test_bpd"], step)
            w.flush()

    def _samples(self, x, step: int) -> None:
        import torch

        from arstudio.imaging import grid

        x = torch.as_tensor(x).cpu()
        if self.sample_rate and self.spec.modality == "sequence" and self.spec.levels:
            wave = x[0].float()
            if self.mu_law:
                from arstudio.distributions import mu_law_decode

                wave = mu_law_decode(x[0], self.spec.levels).float()
            else:
                wave = wave / (self.spec.levels - 1) * 2 - 1
            self.writer.add_audio("samples/audio", wave.clamp(-1, 1).reshape(1, -1), step,
                                  sample_rate=int(self.sample_rate))
            return
        if self.spec.modality != "image":
            x = x.reshape(len(x), 1, 1, -1)
        picture = grid(x, self.spec.levels)  # (H, W, 3) uint8, as the run folder's PNG
        self.writer.add_image("samples", picture, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.close()
