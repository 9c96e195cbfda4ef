"""petroinfer.diffusion."""
