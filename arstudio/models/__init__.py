"""Model families, one module each; see registry.py for how they are found."""
from arstudio.models.base import ARModel, SampleStep
from arstudio.models.registry import MODELS, ModelInfo, build_model, list_models, register_model

__all__ = [
           "MODELS",
           "ARModel",
           "ModelInfo",
           "SampleStep",
           "build_model",
           "list_models",
           "register_model",
]
