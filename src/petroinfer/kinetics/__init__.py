"""petroinfer.kinetics."""
