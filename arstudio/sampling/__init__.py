"""Sampling beyond the model protocol: completion of painted inputs by several methods,
and whole-sequence WaveNet generation on the device (fast_wavenet)."""
from arstudio.sampling.completion import (
                                          METHODS,
                                          CompletionResult,
                                          CompletionStep,
                                          any_order_support,
                                          complete,
                                          complete_steps,
                                          unseen_painted,
)

__all__ = ["METHODS", "CompletionResult", "CompletionStep", "any_order_support", "complete",
           "complete_steps", "unseen_painted"]
