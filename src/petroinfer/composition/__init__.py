"""petroinfer.composition."""
