"""Tools that measure networks: parameters, MACs, receptive fields."""
