"""petroinfer.inference."""
