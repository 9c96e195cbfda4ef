"""petroinfer.imaging."""
