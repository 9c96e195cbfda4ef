"""petroinfer.ptpath."""
