"""Pure engine: extract (no Django)."""
