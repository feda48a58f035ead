"""Beyond one mean per method: paired comparisons (``paired``, ``sets``), results by pair difficulty (``strata``)
and by gap length (``sweep``), from the per-pair table ``OUT/per_pair.csv`` and the feature cache."""
