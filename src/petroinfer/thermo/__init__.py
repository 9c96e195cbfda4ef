"""petroinfer.thermo."""
