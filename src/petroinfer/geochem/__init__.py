"""petroinfer.geochem."""
