"""cloudvol."""
