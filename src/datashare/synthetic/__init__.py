"""Pure engine: synthetic (no Django)."""
