"""Building blocks: masked and causal layers, gated units, cached causal attention.
Masks are buffers applied in ``forward``; stored weights are never mutated to apply a mask."""
from arstudio.nn.causal_conv import CausalConv1d, ConvQueue
from arstudio.nn.causal_conv2d import CausalConv2d, channel_groups
from arstudio.nn.gated import gated_linear, gated_tanh
from arstudio.nn.masked_linear import MaskedLinear, degree_mask, free_parameters, hidden_degrees

__all__ = ["CausalConv1d", "CausalConv2d", "ConvQueue", "MaskedLinear", "channel_groups",
           "degree_mask", "free_parameters", "gated_linear", "gated_tanh", "hidden_degrees"]
