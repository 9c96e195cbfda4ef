"""petroinfer.io."""
