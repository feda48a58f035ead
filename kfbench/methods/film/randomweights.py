"""FILM on random weights: the real film_net (it is small) at both sizes."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from kfbench.bench.randommethods import Size, Subject
from kfbench.bench.randomweights import RandomModel, build_random
from kfbench.methods.film.network import FilmNet
from kfbench.registry import create_method


def film_net() -> nn.Module:
    return FilmNet()


# film_net Style, 34,436,667 parameters (the PyTorch port's state_dict).
RANDOM_MODELS = {"film": RandomModel(film_net, 34_436_667, "film_net Style (the PyTorch port's state_dict)")}


def random_film_method(name: str, options: dict[str, Any], size: Size, seed: int) -> Subject:
    """FILM on a random film_net (the real network at both sizes: it is small)."""
    network = build_random(RANDOM_MODELS["film"], "cpu", torch.float32, seed=seed)
    method = create_method(name, components={"network": network}, **options)
    return Subject(method, method.network, "film_calls")
