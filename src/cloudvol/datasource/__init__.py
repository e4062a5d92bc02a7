"""CloudVolume's ``cloudvolume.datasource`` module paths, for code that imports deep
names (``cloudvol.datasource.precomputed.sharding``…); the implementations live in
cloudvol's own layers."""
