"""Run folders: the contract between the trainer and the window."""
from arstudio.runs.folder import RunFolder, RunError
from arstudio.runs.launch import run_training

__all__ = ["RunFolder", "RunError", "run_training"]
