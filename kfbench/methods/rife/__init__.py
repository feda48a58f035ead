"""RIFE (Huang et al. 2022, "Real-Time Intermediate Flow Estimation"), Practical-RIFE 4.25 / 4.26 (and 4.26 heavy)."""
