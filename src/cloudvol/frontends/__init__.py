"""Frontends: the CloudVolume facade per data format."""
