"""VBench's dimensions that need no ground truth and apply to interpolated clips, each as the ``vbench`` package
(0.1.5) computes it: one module per dimension, their shared shape in ``common``, their networks beside them."""
