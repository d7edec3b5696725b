"""Tiny DataSpecs the shared contract tests build every model on."""
import itertools

import torch

from arstudio.spec import DataSpec

# (spec, may enumerate every configuration)
TINY_SPECS = {
    "image": [DataSpec((1, 3, 3), 2), DataSpec((3, 1, 2), 2), DataSpec((1, 2, 2), 3)],
    "sequence": [DataSpec((9,), 2), DataSpec((4,), 3)],
    "vector": [DataSpec((9,), 2, "vector"), DataSpec((4,), 3, "vector")],
}
REAL_SPECS = {
    "vector": [DataSpec((3,), None, "vector")],
    "sequence": [DataSpec((5,), None)],
    "image": [DataSpec((1, 2, 2), None)],
}
# small enough that a sampled histogram is tight (16 configurations)
SAMPLING_SPECS = {
    "image": DataSpec((1, 2, 2), 2),
    "sequence": DataSpec((4,), 2),
    "vector": DataSpec((4,), 2, "vector"),
}


def specs_for(info):
    out = []
    for modality in info.modalities:
        if info.discrete in (True, None):
            out += TINY_SPECS.get(modality, [])
        if info.discrete in (False, None):
            out += REAL_SPECS.get(modality, [])
    return out


def all_configurations(spec):
    values = range(spec.levels)
    grid = torch.tensor(list(itertools.product(values, repeat=spec.num_dims)), dtype=torch.long)
    return grid.view(-1, *spec.shape)


def random_data(spec, n, generator):
    if spec.discrete:
        return torch.randint(0, spec.levels, (n, *spec.shape), generator=generator)
    return torch.randn((n, *spec.shape), generator=generator)
