"""What the two-frame interpolators (FILM, RIFE, AMT) share: frame schedules, padding, the batched schedule loop."""
