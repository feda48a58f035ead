"""`kfbench run`: pairs through a method into the run store (single process or ranks)."""
