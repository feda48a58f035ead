"""AMT (Li et al. 2023, "All-Pairs Multi-Field Transforms for Efficient Frame Interpolation"): AMT-S, AMT-L, AMT-G."""
