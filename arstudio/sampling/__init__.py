"""Sampling beyond the model protocol: completion of painted inputs by several methods,
sequences of any length chunk by chunk (sequence), sound streamed into a buffer
(audio_stream)."""
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
