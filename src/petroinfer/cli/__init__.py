"""petroinfer.cli."""
