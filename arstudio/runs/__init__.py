"""Run folders: the contract between the trainer and the window."""
from arstudio.runs.folder import RunError, RunFolder
from arstudio.runs.launch import run_training

__all__ = ["RunError", "RunFolder", "run_training"]
