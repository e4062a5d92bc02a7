"""CloudVolume's ``cloudvolume.datasource.precomputed`` module paths."""
