"""Models of medicinkort."""
