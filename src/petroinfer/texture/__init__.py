"""petroinfer.texture."""
