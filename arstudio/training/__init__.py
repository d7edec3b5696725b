"""Training as a plain generator of typed events; see trainer.py."""
from arstudio.training import codes  # noqa: F401  registers the vqcodes: data prefix
from arstudio.training.events import Checkpoint, Done, Eval, Samples, Started, Step, TrainingError
from arstudio.training.trainer import TrainConfig, evaluate, train

__all__ = [
           "Checkpoint",
           "Done",
           "Eval",
           "Samples",
           "Started",
           "Step",
           "TrainConfig",
           "TrainingError",
           "evaluate",
           "train",
]
