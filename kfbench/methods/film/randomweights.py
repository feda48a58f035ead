"""FILM's random full-size model (the real film_net; kfbench.methods.vfi.bench builds the method on it)."""

from __future__ import annotations

from torch import nn

from kfbench.bench.randomweights import RandomModel
from kfbench.methods.film.network import FilmNet


def film_net() -> nn.Module:
    return FilmNet()


# film_net Style, 34,436,667 parameters (the PyTorch port's state_dict).
RANDOM_MODELS = {"film": RandomModel(film_net, 34_436_667, "film_net Style (the PyTorch port's state_dict)")}
