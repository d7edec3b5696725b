"""Lossless compression with a trained model: range coding driven by its conditionals
(``arstudio compress`` / ``arstudio decompress``, the Compress view). No Qt."""
from arstudio.codec.coder import CodecError, decode, encode, quantise, walk, weights_hash
from arstudio.codec.container import Header, read_arz
from arstudio.codec.files import (
                                  Compressed,
                                  Items,
                                  compress,
                                  decompress,
                                  load_files,
                                  load_split,
                                  model_key,
                                  write_items,
)

__all__ = ["CodecError", "Compressed", "Header", "Items", "compress", "decode", "decompress", "encode",
           "load_files", "load_split", "model_key", "quantise", "read_arz", "walk", "weights_hash",
           "write_items"]
