"""Building blocks: masked and causal layers. Masks are buffers applied in
``forward``; stored weights are never mutated to apply a mask."""
from arstudio.nn.masked_conv import MaskedConv2d, channel_groups
from arstudio.nn.masked_linear import MaskedLinear, degree_mask, free_parameters, hidden_degrees

__all__ = [
           "MaskedConv2d",
           "MaskedLinear",
           "channel_groups",
           "degree_mask",
           "free_parameters",
           "hidden_degrees",
]
