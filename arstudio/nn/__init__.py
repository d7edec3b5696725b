"""Building blocks: masked and causal layers. Masks are buffers applied in
``forward``; stored weights are never mutated to apply a mask."""
from arstudio.nn.causal_conv import CausalConv2d
from arstudio.nn.masked_conv import MaskedConv2d, channel_groups

__all__ = ["CausalConv2d", "MaskedConv2d", "channel_groups"]
