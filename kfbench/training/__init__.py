"""Backward-motion fine-tuning of SVD (paper Algorithm 1) and its w/o RA ablation, on accelerate."""
