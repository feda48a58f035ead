"""FILM (Reda et al. 2022, "Frame Interpolation for Large Motion"), "Style" configuration, in plain PyTorch."""
