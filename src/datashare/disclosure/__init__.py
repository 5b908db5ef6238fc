"""Pure engine: disclosure (no Django)."""
